"""Limits on the model a checkpoint may describe, checked before any layer is allocated.

A checkpoint is untrusted input: one that claims a giant model is refused here instead of
filling memory. The recipes use widths up to 128 and about 0.1 million parameters; these limits
leave a wide margin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from mnist_helpers.errors import ParameterError
from mnist_helpers.model import MnistCNN, check_model_args, count_parameters

MAX_CONV_WIDTH = 1024
MAX_HIDDEN_UNITS = 8192
MAX_PARAMETERS = 50_000_000  # 200 MB of float32 weights


def parameters_for(config: Mapping[str, Any]) -> int:
    """Trainable parameters of the model ``config`` describes, built on the meta device.

    A meta-device model has shapes but no storage: counting costs milliseconds and no memory.
    """
    with torch.device("meta"):
        return count_parameters(MnistCNN(**config))


def check_checkpoint_model_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """``check_model_args`` plus the size limits, for arguments read from a checkpoint.

    Raises ParameterError before anything is allocated.
    """
    config = check_model_args(args)
    if max(config["conv_channels"]) > MAX_CONV_WIDTH:
        raise ParameterError(
            f"conv_channels must hold widths from 1 to {MAX_CONV_WIDTH}; "
            f"got {config['conv_channels']}"
        )
    if config["hidden_units"] > MAX_HIDDEN_UNITS:
        raise ParameterError(
            f"hidden_units must be an integer from 1 to {MAX_HIDDEN_UNITS:,}; "
            f"got {config['hidden_units']}"
        )
    count = parameters_for(config)
    if count > MAX_PARAMETERS:
        raise ParameterError(
            f"these model arguments describe {count:,} parameters, more than the limit of "
            f"{MAX_PARAMETERS:,}; use narrower layers or more conv blocks"
        )
    return config
