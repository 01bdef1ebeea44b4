"""statewright package."""
