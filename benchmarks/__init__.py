"""Benchmarks of the training path, the notebooks and the canvas: ``python -m benchmarks.run``."""
