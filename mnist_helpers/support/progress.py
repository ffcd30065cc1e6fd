"""Progress while training: a moving bar with the loss in a notebook a person reads, nothing in
a headless run (papermill, nbval), so executed notebooks stay the same from run to run."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sized
from typing import Any, Generic, TypeVar

T = TypeVar("T")
# The bar shows the running loss every this many steps: often enough to watch it fall.
LOSS_EVERY = 50


def is_interactive_frontend() -> bool:
    """True inside a Jupyter kernel whose current cell was sent by a frontend a person uses.

    Frontends people use (JupyterLab, Notebook, VS Code, Colab) allow ``input()``; headless
    executors (papermill's nbclient, nbval) send their cells with ``allow_stdin`` off.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return False  # plain Python or a terminal IPython: no widget to draw
    try:
        request = kernel.get_parent("shell")
    except Exception:  # an older or unusual kernel: be quiet rather than wrong
        return False
    return bool(request.get("content", {}).get("allow_stdin", False))


class Progress(Generic[T]):
    """Iterate ``items``; ``show(loss=...)`` puts the running loss on the bar now and then."""

    def __init__(self, items: Iterable[T], description: str, *, enabled: bool) -> None:
        self._items = items
        self._bar: Any = None
        self._calls = 0
        if enabled and is_interactive_frontend():
            from tqdm.auto import tqdm  # a widget bar in JupyterLab, Notebook 7 and Colab

            total = len(items) if isinstance(items, Sized) else None
            self._bar = tqdm(total=total, desc=description, leave=False)

    def __iter__(self) -> Iterator[T]:
        try:
            for item in self._items:
                yield item
                if self._bar is not None:
                    self._bar.update()
        finally:  # closed however the loop ends (the stop button included): no stale bars
            if self._bar is not None:
                self._bar.close()

    def show(self, **numbers: float) -> None:
        """Show ``numbers`` on the bar, every LOSS_EVERY calls (nothing when there is no bar)."""
        self._calls += 1
        if self._bar is not None and self._calls % LOSS_EVERY == 0:
            self._bar.set_postfix({name: f"{value:.4f}" for name, value in numbers.items()})


def progress_bar(items: Iterable[T], description: str, *, enabled: bool = True) -> Progress[T]:
    """``items`` with a progress bar where a person watches (see the module's docstring)."""
    return Progress(items, description, enabled=enabled)
