"""GAN generator of synthetic images: train into a bundle, load, sample, evaluate.

Names are imported from their modules on first use (:mod:`medstation.lazy_exports`).
"""

from medstation.lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "confidence": ("FEATURE_CLASSIFIER", "conditional_confidence", "load_feature_network"),
    "evaluation": ("evaluate_generator",),
    "model": ("DEFAULT_GENERATOR", "Generator", "SyntheticBatch", "generator_from_bundle", "load_generator"),
    "recipe": ("GeneratorRecipe",),
    "sampling": ("GeneratedSamples", "GeneratorChoice", "generate_samples", "list_generators", "synthetic_volume"),
    "training": ("train_generator",),
})
