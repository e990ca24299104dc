"""Pictures of motions and results: stick-figure animations and plots (matplotlib)."""
