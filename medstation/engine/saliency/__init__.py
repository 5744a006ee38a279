"""Saliency maps of a classifier's decision, and checks of how far to trust them.

Names are imported from their modules on first use (:mod:`medstation.lazy_exports`).
"""

from medstation.lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "bundle": ("BundleExplanation", "explain_with_bundle"),
    "checks": ("Faithfulness", "SanityCheck", "faithfulness", "randomisation_check"),
    "maps": ("METHODS", "METHOD_LABELS", "SaliencyMap"),
    "methods": ("explain",),
})
