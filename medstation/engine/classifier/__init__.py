"""CNN image classifier: read labelled images, train into a bundle, load, predict, evaluate.

Names are imported from their modules on first use (:mod:`medstation.lazy_exports`).
"""

from medstation.lazy_exports import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "data": ("LabelledImages", "Split", "load_labelled_images"),
    "decision": ("called_as", "judged_labels", "label_probability"),
    "evaluation": ("evaluate_classifier",),
    "inputs": ("normalise_intensity", "prepare_batch", "resize_batch"),
    "model": ("Classifier", "Prediction", "classifier_from_bundle", "load_classifier"),
    "recipe": ("Augmentation", "TrainingRecipe"),
    "training": ("train_classifier",),
})
