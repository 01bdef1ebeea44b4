"""Definition model, parsing and validation."""
