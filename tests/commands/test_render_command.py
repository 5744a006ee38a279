"""``medstation render``: a headless PNG of one view; bad requests exit 1 with a message."""

from __future__ import annotations

from PySide6.QtGui import QImage

from medstation.cli import main


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


def test_saliency_overlay_says_it_is_not_available_yet(tmp_path, capsys):
    assert main(["render", "x.nii", str(tmp_path / "x.png"), "--overlay", "saliency"]) == 1
    assert "classifier bundle" in capsys.readouterr().err
