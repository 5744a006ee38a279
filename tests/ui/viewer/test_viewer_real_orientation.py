"""On real scanner data: a voxel on the patient's left is drawn on the right of the rendered picture."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import image_array
from PySide6.QtGui import QImage

from medstation.core.view_state import ViewState
from medstation.io.open_study import open_image
from medstation.ui.viewer.render import render_png


def marked_copy(volume, lps_axis: int, sign: int):
    """The volume's first time point blanked, with a 3x3x3 block of 1000 at its extreme voxel along
    ``sign * lps_axis`` (LPS) within 6 mm of the middle axial level."""
    array = (volume.array[0] if volume.n_volumes > 1 else volume.array).astype(np.float32)
    n_k, n_j, n_i = array.shape
    k, j, i = np.meshgrid(np.arange(n_k), np.arange(n_j), np.arange(n_i), indexing="ij")
    centre = np.array([(n_i - 1) / 2, (n_j - 1) / 2, (n_k - 1) / 2])
    lps = volume.voxel_to_patient(np.stack([i, j, k], axis=-1).astype(float))
    middle = volume.voxel_to_patient(centre)
    in_middle_slab = np.abs(lps[..., 2] - middle[2]) < 6.0
    score = np.where(in_middle_slab, sign * lps[..., lps_axis], -np.inf)
    kk, jj, ii = np.unravel_index(np.argmax(score), score.shape)
    array[:] = 0
    array[max(kk - 1, 0) : kk + 2, max(jj - 1, 0) : jj + 2, max(ii - 1, 0) : ii + 2] = 1000
    return volume.with_array(array)


@pytest.mark.parametrize("acquisition", ["ax/axasc35", "cor/corasc35", "sag/sagasc35"])
def test_patient_left_and_anterior_on_screen_in_every_acquisition(acquisition, shared_path, tmp_path, qapp):
    volume = open_image(shared_path("dicom", "dcm_qa_orientation", "In", "Orientation", *acquisition.split("/"))).volume
    for lps_axis, sign, check in ((0, 1, "right half"), (1, -1, "top half")):
        marked = marked_copy(volume, lps_axis, sign)
        state = ViewState(marked)
        state.set_point(marked.voxel_to_patient(np.argwhere(marked.array == 1000)[0][::-1].astype(float)))
        index = state.slice_index("axial")
        out = render_png(marked, tmp_path / "axial.png", view="axial", slice_index=index, window=1000, level=500,
                         size=(300, 300), annotations=False)
        picture = image_array(QImage(str(out)))
        rows, columns = np.nonzero(picture[..., 0] > 200)
        assert rows.size, f"{acquisition}: marker not drawn"
        if check == "right half":
            assert columns.min() > 150, f"{acquisition}: the patient's left is not on the screen's right"
        else:
            assert rows.max() < 150, f"{acquisition}: anterior is not at the top"
