"""Model bundles on disk (docs/design.md §4): their metadata, weights, checksums, and where they are found.

Names are imported from their modules on first use (:mod:`medstation.lazy_exports`).
"""

from medstation.lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "card": ("BUNDLE_VERSION", "CardWriter", "library_versions", "model_card", "named_splits", "record_in_bundle",
             "table", "training_data", "write_model_bundle"),
    "image_fit": ("accepts", "best_bundle", "image_size", "refusal", "size_distance"),
    "metadata": ("INTENSITY_METHODS", "BundleMetadata", "InputSpec", "IntensitySpec", "metadata_problems",
                 "read_metadata", "validate_metadata"),
    "registry": ("BundleEntry", "find_bundle", "list_bundles", "model_folders"),
    "store": ("CARD_FILE", "METADATA_FILE", "WEIGHTS_FILE", "Bundle", "open_bundle", "write_bundle"),
    "weights": ("check_state_dict", "load_into", "load_state_dict", "save_state_dict", "sha256_of",
                "verify_weights"),
})
