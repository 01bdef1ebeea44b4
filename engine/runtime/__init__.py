"""The execution runtime: clock, execution record, engine."""
