"""Reading and writing images, studies and timelines. No Qt, no torch."""
