"""``medstation render``: a headless PNG of one view; bad requests exit 1 with a message."""

from __future__ import annotations

from PySide6.QtGui import QImage

from medstation.cli import main
from medstation.resources import resource_path


def test_render_writes_the_requested_view(tmp_path, shared_path, qapp):
    out = tmp_path / "coronal.png"
    assert (
        main(["render", str(shared_path("nifti", "MR_Gd.nii.gz")), str(out), "--view", "coronal", "--slice", "5"]) == 0
    )
    image = QImage(str(out))
    assert not image.isNull() and image.width() > 100 and image.height() > 100


def test_render_refuses_a_slice_outside_the_volume(tmp_path, shared_path, qapp, capsys):
    out = tmp_path / "x.png"
    assert main(["render", str(shared_path("nifti", "MR_Gd.nii.gz")), str(out), "--slice", "100000"]) == 1
    assert "outside" in capsys.readouterr().err
    assert not out.exists()


def test_render_refuses_a_window_that_is_not_positive(tmp_path, capsys):
    for width in ("0", "-100", "nan"):
        assert main(["render", "x.nii", str(tmp_path / "x.png"), "--window", width]) == 1
        assert "a window width is a positive number" in capsys.readouterr().err


def test_saliency_overlay_needs_a_model(tmp_path, capsys):
    assert main(["render", "x.nii", str(tmp_path / "x.png"), "--overlay", "saliency"]) == 1
    assert "needs --model" in capsys.readouterr().err


def test_saliency_overlay_is_drawn_over_the_image(tmp_path, qapp, capsys, untrained_classifier_bundle):
    sample = resource_path("sample")
    dicom = next(path for path in sorted(sample.rglob("*.dcm")))
    plain, overlaid = tmp_path / "plain.png", tmp_path / "saliency.png"
    assert main(["render", str(dicom), str(plain)]) == 0
    argv = ["render", str(dicom), str(overlaid), "--overlay", "saliency", "--model", untrained_classifier_bundle]
    assert main(argv) == 0
    assert "Grad-CAM" in capsys.readouterr().out
    before, after = QImage(str(plain)), QImage(str(overlaid))
    assert before.size() == after.size()
    changed = sum(
        before.pixelColor(x, y) != after.pixelColor(x, y)
        for x in range(0, before.width(), 8)
        for y in range(0, before.height(), 8)
    )
    assert changed > 50, "the heat map should colour the image"
    assert (
        main(
            [
                "render",
                str(dicom),
                str(tmp_path / "x.png"),
                "--overlay",
                "saliency",
                "--model",
                untrained_classifier_bundle,
                "--method",
                "magic",
            ]
        )
        == 1
    )


def test_saliency_overlay_on_a_volume_names_the_file(tmp_path, shared_path, capsys, untrained_classifier_bundle):
    volume = shared_path("nifti", "MR_Gd.nii.gz")
    argv = ["render", str(volume), str(tmp_path / "x.png"), "--overlay", "saliency", "--model",
            untrained_classifier_bundle]
    assert main(argv) == 1
    assert f"{volume}: a 3-D volume of" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
