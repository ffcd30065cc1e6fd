"""Live training feedback: each finished epoch's numbers at once and learning curves that grow.

In a notebook a person is reading (JupyterLab, VS Code, Colab) the figure appears after the first
epoch and is redrawn in place after every later one, with the epoch lines below it. In a headless
run (papermill, nbval) nothing is redrawn: the epoch lines are printed as they come and the figure
is shown once at the end, so the saved notebook is the same every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mnist_helpers.support.progress import is_interactive_frontend
from mnist_helpers.teaching.plots import plot_history
from mnist_helpers.train import EpochCallback, EpochRecord, format_record


class LiveHistory:
    """An ``on_epoch_end`` callback: passes each record on, prints it, and redraws the curves.

    Args:
        then: called first with each record (e.g. the checkpoint keeper), so a figure problem can
            never cost a checkpoint.
        previous: records of epochs already trained (a resumed run), drawn before the new ones.
        interactive: redraw after every epoch; None asks ``is_interactive_frontend``.
    """

    def __init__(
        self,
        then: EpochCallback | None = None,
        *,
        previous: Sequence[EpochRecord] = (),
        interactive: bool | None = None,
    ) -> None:
        self.then = then
        self.records: list[EpochRecord] = list(previous)
        self.interactive = is_interactive_frontend() if interactive is None else interactive
        self._handle: Any = None
        self.figure: Any = None  # the latest learning-curve figure

    def __call__(self, record: EpochRecord) -> None:
        """Hand ``record`` on, print its line, and (interactively) redraw the figure."""
        if self.then is not None:
            self.then(record)
        self.records.append(record)
        if self.interactive:  # the curves first, then every epoch's line below them
            self._show(update=self._handle is not None)
        print(format_record(record), flush=True)

    def _show(self, *, update: bool) -> None:
        from IPython.display import display

        self.figure = plot_history(self.records)
        if update:
            self._handle.update(self.figure)
        else:
            self._handle = display(self.figure, display_id=True)

    def finish(self) -> None:
        """Leave the final curves on screen: already there interactively, shown once otherwise.

        The final figure is kept in ``self.figure`` (for saving).
        """
        if not self.records:
            return
        if self.interactive and self._handle is not None:
            return
        from IPython.display import display

        self.figure = plot_history(self.records)
        display(self.figure)
