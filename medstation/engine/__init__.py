"""PyTorch and MONAI engine. No Qt; torch, MONAI and Captum are imported through one lock, at the top of the model
families' modules and where the modules the faces import at start first need them (docs/design.md §5)."""
