"""The shortcut check: does the classifier still work with the image's border and corners hidden?

Radiographs carry text markers (side letters, hospital labels) in their corners and collimation borders that can
differ between classes. A model that reads them instead of the lungs loses its AUC when they are hidden. The check
sets the outer ``BORDER`` (12%) of each side and a square of ``CORNER`` (20%) of the side in each corner to the
image's own mean, on the image as stored, before it is prepared for the network, and compares the AUC of the
decision's task with and without occlusion. The issue's goal: a drop of at most 0.005.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from medstation.engine.classifier.inputs import prepare_batch
from medstation.engine.metrics import roc_auc
from medstation.progress import CancelToken, ProgressCallback

BORDER = 0.12
CORNER = 0.20
MAX_DROP = 0.005


def occlude_border_and_corners(image: np.ndarray) -> np.ndarray:
    """A copy of ``image`` ``(channels, rows, columns)`` with its outer band and corner squares set to its mean."""
    occluded = np.array(image, dtype=np.float32, copy=True)
    rows, columns = occluded.shape[-2:]
    band_rows, band_columns = round(BORDER * rows), round(BORDER * columns)
    corner_rows, corner_columns = round(CORNER * rows), round(CORNER * columns)
    mask = np.zeros((rows, columns), dtype=bool)
    mask[:band_rows], mask[rows - band_rows:] = True, True
    mask[:, :band_columns], mask[:, columns - band_columns:] = True, True
    for row_slice in (slice(0, corner_rows), slice(rows - corner_rows, rows)):
        for column_slice in (slice(0, corner_columns), slice(columns - corner_columns, columns)):
            mask[row_slice, column_slice] = True
    occluded[..., mask] = occluded.mean()
    return occluded


def occlusion_check(classifier, images: np.ndarray, truth: np.ndarray, auc: float | None, decision: dict[str, Any],
                    progress: ProgressCallback | None = None, cancel: CancelToken = None) -> dict[str, Any]:
    """``{"auc", "auc_occluded", "drop", "passed", "border", "corner"}`` for stored images ``(N, channels, ...,
    j, i)``, ``truth`` 0/1 for the ``decision``'s positive label (or union)."""
    from medstation.engine.classifier.decision import positive_scores

    batch = prepare_batch([occlude_border_and_corners(image) for image in images], classifier.input_spec)
    probabilities = classifier.probabilities(batch, progress, cancel)
    occluded_auc = roc_auc(truth, positive_scores(probabilities, classifier.labels, decision))
    drop = None if auc is None else float(auc - occluded_auc)
    return {"auc": auc, "auc_occluded": float(occluded_auc), "drop": drop,
            "passed": drop is not None and drop <= MAX_DROP, "border": BORDER, "corner": CORNER}
