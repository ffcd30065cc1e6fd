"""Helpers for the MNIST notebooks: data, model, training loops, checkpoints, plots and drawing.

Importing the package does nothing else: no folders, seeds, styles or downloads.
Import what you need from the submodules, e.g. ``from mnist_helpers.model import MnistCNN``.
"""

__version__ = "0.1.0"
