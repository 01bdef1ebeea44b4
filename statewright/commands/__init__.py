"""One module per ``statewright`` command that has more to it than a few lines of wiring."""
