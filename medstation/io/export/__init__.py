"""Results that leave the workstation: DICOM objects derived from a study, de-identified copies, reports.

Names are imported from their modules on first use (:mod:`medstation.lazy_exports`); highdicom, pydicom and
reportlab load only when an export runs.

Modules: :mod:`.sources` (the source images of a series), :mod:`.results` (a classifier's result in plain terms),
:mod:`.sr` and :mod:`.sr_content` (TID 1500 report), :mod:`.parametric_map`, :mod:`.segmentation`,
:mod:`.secondary_capture`, :mod:`.key_objects`, :mod:`.overlay_image` (a slice with its overlays as RGB),
:mod:`.reading` (open what was exported), :mod:`.deidentify` (PS3.15 Annex E), :mod:`.series_export` (a study's
series as DICOM, NIfTI or PNG), :mod:`.pdf_report`, :mod:`.files` (atomic writes, never over or into a source).
"""

from medstation.lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "files": ("ExportError", "OutputExists", "save_dicom"),
    "sources": ("SourceImages", "find_source_series", "read_source_images"),
    "results": ("DECISION_SUPPORT", "ClassificationResult", "ModelSummary", "classification_result", "model_summary"),
    "sr": ("SeriesFindings", "measurement_report"),
    "parametric_map": ("saliency_parametric_map",),
    "segmentation": ("layer_segmentation",),
    "secondary_capture": ("overlay_secondary_capture",),
    "key_objects": ("key_object_selection",),
    "overlay_image": ("overlay_slice",),
    "reading": ("ExportedObject", "derived_layer", "exported_object", "is_structured_report", "sr_lines"),
})
