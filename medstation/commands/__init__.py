"""Command-line handlers: each turns parsed arguments into a call to io/ or engine/ and prints the result."""
