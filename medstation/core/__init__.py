"""Pure data model: numpy only, no Qt, no torch, no file formats."""
