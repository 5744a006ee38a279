"""SR, SEG, Parametric Map, secondary capture and KOS from the sample study and a real CT: they read back with
pydicom and highdicom, pass dciodvfy without errors, and MedStation opens them on their source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pydicom
import pytest
from dciodvfy import validate

from medstation.core.layers import OverlayLayer, saliency_overlay
from medstation.core.measurements import Region, RegionStatistics, Ruler
from medstation.io.dicom.series import load_series, scan_dicom
from medstation.io.export import (
    DECISION_SUPPORT,
    ClassificationResult,
    ExportError,
    SeriesFindings,
    derived_layer,
    key_object_selection,
    layer_segmentation,
    measurement_report,
    model_summary,
    overlay_secondary_capture,
    overlay_slice,
    read_source_images,
    saliency_parametric_map,
    save_dicom,
    sr_lines,
)
from medstation.resources import installed_models_dir, resource_path

SAMPLE = resource_path("sample", "images")
GE_TILT = Path(__file__).parents[2] / "data" / "dicom" / "ge_tilt"
MODEL = "pneumonia-cxr-resnet18"


def _model():
    document = json.loads((installed_models_dir() / MODEL / "configs" / "metadata.json").read_text())
    return model_summary(MODEL, document), document


def _series(path):
    series = scan_dicom(path).series[0]
    return series, load_series(series), read_source_images(series)


@pytest.fixture(params=["sample", "ct"])
def study(request):
    path = SAMPLE / "sample-04.dcm" if request.param == "sample" else GE_TILT
    return _series(path)


def _measurements(volume):
    affine = volume.affine
    k = volume.spatial_shape[0] // 2

    def lps(i, j):
        return (affine @ [i, j, k, 1.0])[:3]

    corners = np.array([lps(4, 4), lps(14, 4), lps(14, 10), lps(4, 10)])
    statistics = RegionStatistics(12.5, 3.25, 1.0, 30.0, 60.0, 48)
    return [Ruler("axial", k, lps(2, 3), lps(12, 15), id=1),
            Region("axial", k, "rectangle", (0, 0, 10, 6), statistics, corners, id=2),
            Region("axial", k, "ellipse", (0, 0, 10, 6), statistics, corners, id=3)]


def _check_valid(path):
    errors, _ = validate(path)
    assert errors == [], f"{path.name}: {errors}"


def test_measurement_report_holds_result_and_measurements(study, tmp_path):
    _, volume, source = study
    model, document = _model()
    probabilities = {"normal": 0.125, "pneumonia": 0.875}
    result = ClassificationResult(model, probabilities, "pneumonia", document["decision"]["threshold"], "pneumonia",
                                  slice_index=0)
    findings = SeriesFindings(source, volume.affine, volume.info.modality, [result], _measurements(volume))
    path = save_dicom(measurement_report([findings], reader="Reader^Ann"), tmp_path / "report.dcm")
    _check_valid(path)

    import highdicom as hd

    report = hd.sr.srread(path)
    assert report.StudyInstanceUID == source.study_uid
    referenced = {
        sop.ReferencedSOPInstanceUID
        for study_item in report.CurrentRequestedProcedureEvidenceSequence
        for series_item in study_item.ReferencedSeriesSequence
        for sop in series_item.ReferencedSOPSequence}
    assert set(source.instance_uids()) <= referenced
    groups = report.content.get_planar_roi_measurement_groups()
    assert len(groups) == 3
    lengths = [m.value for g in groups for m in g.get_measurements() if m.name.meaning == "Length"]
    assert lengths == [pytest.approx(_measurements(volume)[0].length_mm, rel=1e-6)]
    assert all(group.roi is not None for group in groups)

    text = "\n".join(sr_lines(path))
    assert MODEL in text and document["weights"]["sha256"] in text
    assert "Probability of pneumonia: 0.875" in text and DECISION_SUPPORT in text
    assert "Finding: pneumonia" in text and "Reader^Ann" in text
    assert "Mean: 12.5" in text and "Area: 60" in text


def test_saliency_as_parametric_map_segmentation_and_overlay(study, tmp_path):
    _, volume, source = study
    values = np.random.default_rng(0).random(volume.spatial_shape).astype(np.float32)
    layer = saliency_overlay(values, "Grad-CAM: pneumonia")
    pm = save_dicom(saliency_parametric_map(values, source, "Grad-CAM saliency of pneumonia", layer.meaning),
                    tmp_path / "pm.dcm")
    seg = save_dicom(layer_segmentation(layer, source, (MODEL, "1.0.0")), tmp_path / "seg.dcm")
    k = volume.spatial_shape[0] - 1
    sc = save_dicom(overlay_secondary_capture(overlay_slice(volume, k, [layer]), source, k, "Grad-CAM overlay"),
                    tmp_path / "sc.dcm")
    for path in (pm, seg, sc):
        _check_valid(path)

    import highdicom as hd

    read_seg = hd.seg.segread(seg)
    assert read_seg.number_of_segments == 1
    assert read_seg.get_source_image_uids()[0][1] == source.series_uid
    stored = pydicom.dcmread(pm)
    assert stored.ReferencedSeriesSequence[0].SeriesInstanceUID == source.series_uid
    if source.frame_of_reference_uid:
        assert stored.FrameOfReferenceUID == source.frame_of_reference_uid
        assert pydicom.dcmread(seg).FrameOfReferenceUID == source.frame_of_reference_uid
    secondary = pydicom.dcmread(sc)
    assert secondary.SourceImageSequence[0].ReferencedSOPInstanceUID == source.instance_uids()[k]
    assert secondary.pixel_array.shape == (*volume.spatial_shape[1:], 3)

    opened_map = derived_layer(pm, volume, source.instance_uids(), source.frames)
    np.testing.assert_array_equal(opened_map.data, values)
    assert opened_map.meaning == layer.meaning == "fraction of the map's peak", "the legend says what values are"
    unexplained = save_dicom(saliency_parametric_map(values, source, "Grad-CAM saliency"), tmp_path / "pm-2.dcm")
    assert derived_layer(unexplained, volume, source.instance_uids(), source.frames).meaning == "saliency values"
    opened_seg = derived_layer(seg, volume, source.instance_uids(), source.frames)
    np.testing.assert_array_equal(opened_seg.data > 0, values >= layer.threshold)


def test_label_layer_segments_and_key_images(study, tmp_path):
    _, volume, source = study
    labels = np.zeros(volume.spatial_shape, dtype=np.uint8)
    labels[:, 2:6, 3:9] = 2
    labels[:, 8:12, 3:9] = 5
    seg = save_dicom(layer_segmentation(OverlayLayer("lesions", labels, kind="label"), source), tmp_path / "s.dcm")
    _check_valid(seg)
    opened = derived_layer(seg, volume, source.instance_uids(), source.frames)
    np.testing.assert_array_equal(opened.data, np.where(labels == 2, 1, np.where(labels == 5, 2, 0)))

    kos = save_dicom(key_object_selection([(source, 0)], "for the tumour board", "Reader^Ann"), tmp_path / "k.dcm")
    _check_valid(kos)
    text = "\n".join(sr_lines(kos))
    assert "Of Interest" in text and source.instance_uids()[0] in text and "for the tumour board" in text


def test_empty_layer_and_foreign_series_are_refused(tmp_path):
    _, volume, source = _series(SAMPLE / "sample-04.dcm")
    with pytest.raises(ExportError, match="no voxel"):
        layer_segmentation(OverlayLayer("none", np.zeros(volume.spatial_shape, np.uint8), kind="label"), source)
    _, other_volume, other = _series(SAMPLE / "sample-05.dcm")
    values = np.ones(volume.spatial_shape, np.float32)
    pm = save_dicom(saliency_parametric_map(values, source, "map"), tmp_path / "pm.dcm")
    with pytest.raises(Exception, match="another series"):
        derived_layer(pm, other_volume, other.instance_uids())
    with pytest.raises(ExportError, match="already exists"):
        save_dicom(saliency_parametric_map(values, source, "map"), tmp_path / "pm.dcm")
