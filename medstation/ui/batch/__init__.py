"""The Batch analysis window (AI > Batch analysis…): a classifier over a folder or a study database query."""
