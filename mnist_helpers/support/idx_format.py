"""The IDX format of the MNIST files: a small header, then the raw bytes of one uint8 array."""

from __future__ import annotations

import math

import torch

from mnist_helpers.errors import DataFileError

# The header's third byte names the element type; MNIST uses only unsigned bytes.
UBYTE_TYPE_CODE = 0x08


def parse_idx(data: bytearray, name: str) -> torch.Tensor:
    """The uint8 array in IDX bytes ``data``, shaped as its header says, sharing ``data``'s memory.

    ``name`` only labels the error raised when the header and the length disagree.
    """
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataFileError(f"{name} is not an IDX file: its first bytes are not an IDX header")
    if data[2] != UBYTE_TYPE_CODE:
        raise DataFileError(f"{name} holds IDX type 0x{data[2]:02x}; MNIST files hold bytes (0x08)")
    num_dims = data[3]
    header = 4 + 4 * num_dims
    if num_dims == 0 or len(data) < header:
        raise DataFileError(f"{name} has a damaged IDX header ({num_dims} dimensions)")
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(num_dims)]
    count = math.prod(shape)
    if count == 0:
        raise DataFileError(f"{name} holds an empty array of shape {tuple(shape)}")
    if len(data) != header + count:
        raise DataFileError(
            f"{name} should hold {header + count:,} bytes for shape {tuple(shape)}; "
            f"it holds {len(data):,}"
        )
    return torch.frombuffer(data, dtype=torch.uint8, offset=header, count=count).view(shape)
