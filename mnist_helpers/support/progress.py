"""A progress bar that reads well in JupyterLab and terminals without flooding papermill's log."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress_bar(items: Iterable[T], description: str, *, enabled: bool = True) -> Iterator[T]:
    """Wrap ``items`` in a text progress bar that redraws at most every few seconds.

    A text bar (not a widget) keeps executed notebooks free of widget state, and the long
    ``mininterval`` keeps a papermill log to a few lines per epoch.
    """
    if not enabled:
        return iter(items)
    return iter(
        tqdm(
            items,
            desc=description,
            file=sys.stdout,
            mininterval=5.0,
            leave=False,
            dynamic_ncols=False,
            ncols=80,
        )
    )
