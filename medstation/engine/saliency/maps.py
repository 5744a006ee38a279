"""What a saliency map is: the methods offered, with the names a user reads, and the map on the image's grid.

Kept apart from :mod:`~medstation.engine.saliency.methods` (torch, MONAI, Captum) because the workstation lists
the methods when it starts, long before it explains anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHOD_LABELS = {
    "gradcam": "Grad-CAM",
    "gradcampp": "Grad-CAM++",
    "occlusion": "Occlusion sensitivity",
    "integrated_gradients": "Integrated gradients",
    "lime": "LIME (superpixels)",
    "kernel_shap": "Kernel SHAP (superpixels)",
}
METHODS = tuple(METHOD_LABELS)


@dataclass(frozen=True)
class SaliencyMap:
    """A saliency map on the pixel grid of the image it explains.

    Attributes
    ----------
    values
        float32 ``[j, i]``, same shape as the input image, in [0, 1]: 1 at the strongest evidence for ``target``,
        0 where the method finds none.
    method
        Key from :data:`METHODS`.
    target
        Index of the explained class.
    probability
        The model's probability for ``target`` on the unaltered image.
    layer
        The module Grad-CAM and Grad-CAM++ read; ``None`` for the other methods.
    """

    values: np.ndarray
    method: str
    target: int
    probability: float
    layer: str | None = None

    @property
    def label(self) -> str:
        """The method's name as the user reads it."""
        return METHOD_LABELS[self.method]
