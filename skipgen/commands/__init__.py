"""One module per CLI command; ``skipgen.cli`` registers them."""
