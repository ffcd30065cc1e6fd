"""mnist_helpers: the work behind the notebooks. Read it in the order a digit travels.

The learner's path, one file per stage::

    data.py        the MNIST files: checked, read, split 85 / 15 by seed
    loaders.py     batches from tensors on the device (a DataLoader over a TensorDataset, faster)
    augment.py     small random rotations, scalings and shifts of a batch
    model.py       MnistCNN: conv -> ReLU -> max-pool blocks, then Linear layers to 10 logits
    train.py       the step, one epoch of steps, fit (epochs with validation)
    evaluate.py    loss and accuracy, confusion matrix, per-class scores, calibration
    predict.py     one image in, a digit (or "unsure", "not a digit", "blank") out
    checkpoint.py  the checkpoint file: one self-describing dict, loaded with weights_only=True
    device.py      CPU, CUDA or Apple MPS; seeds; mixed precision
    errors.py      the project's errors, each saying what was wrong and what to do

The wings, which a learner can skip::

    teaching/  worked examples, figures, captions read from a run, live curves, baselines
    images/    image files, preprocessing to MNIST's framing, paper in photos, numbers split into
               digits, generated digits, photos and non-digits
    apps/      the drawing canvas, ONNX export, the command line (python -m mnist_helpers)
    runs/      notebook parameters, recipes, the run folder and its layout, resume, start a run
    support/   files written all-or-nothing, paths, IDX files, progress bars, CUDA graphs,
               notebook kernels on socket files

Importing the package does nothing else: no folders, seeds, styles or downloads. Import what you
need from the module that holds it, e.g. ``from mnist_helpers.model import MnistCNN``.
"""

__version__ = "0.1.0"
