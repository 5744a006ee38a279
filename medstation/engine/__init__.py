"""PyTorch and MONAI engine. No Qt; torch is imported inside the functions that need it."""
