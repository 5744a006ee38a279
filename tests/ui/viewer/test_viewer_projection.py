"""2-D projection images (DX) open in a single view, drawn as stored and labelled from PatientOrientation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import image_array
from dicom_projection import write_projection
from pydicom.uid import ExplicitVRLittleEndian, RLELossless

from medstation.io.dicom.series import load_dicom


def bright_pixels(picture: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the near-white pixels of a grabbed picture."""
    return np.nonzero((picture[..., :3].astype(int) > 247).all(axis=-1))


@pytest.mark.parametrize("transfer_syntax", [ExplicitVRLittleEndian, RLELossless])
@pytest.mark.parametrize("orientation, expected", [
    (("L", "F"), {"left": "R", "right": "L", "top": "H", "bottom": "F"}),
    (("A", "F"), {"left": "P", "right": "A", "top": "H", "bottom": "F"}),
])
def test_radiograph_opens_in_a_single_view_labelled_from_patient_orientation(make_viewer, tmp_path, transfer_syntax,
                                                                             orientation, expected):
    volume = load_dicom(write_projection(tmp_path / "dx.dcm", orientation, transfer_syntax))
    viewer = make_viewer(volume, layout=None)
    assert viewer.layout_name == "single"
    (view,) = viewer.visible_views()
    assert {edge: label.text() for edge, label in view.edge_labels.items()} == expected


def test_radiograph_is_drawn_as_stored(make_viewer, tmp_path):
    viewer = make_viewer(load_dicom(write_projection(tmp_path / "dx.dcm")), layout=None)
    (view,) = viewer.visible_views()
    view.set_annotations_visible(False)
    picture = image_array(view.grab().toImage())
    rows, columns = bright_pixels(picture)
    assert rows.size, "the bright block is not drawn"
    assert rows.max() < picture.shape[0] / 2 and columns.min() > picture.shape[1] / 2, (
        "the block stored in the top-right corner is not drawn top right"
    )


def test_radiograph_without_patient_orientation_keeps_question_marks(make_viewer, tmp_path):
    viewer = make_viewer(load_dicom(write_projection(tmp_path / "dx.dcm", None)), layout=None)
    (view,) = viewer.visible_views()
    assert {label.text() for label in view.edge_labels.values()} == {"?"}
