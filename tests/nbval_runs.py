"""What nbval did with the committed notebooks in this session.

nbval runs the four notebooks as a small run (seed 42) into ``NBVAL_SCRATCH``: the same run the
``small_pipeline`` fixture needs. The root conftest.py, which sees nbval's items, keeps an
``NbvalRuns`` record in ``config.stash``; tests/conftest.py reads it to reuse that run instead of
running the notebooks a second time. Both import it from here: a conftest is not a module to
import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

# Not tests.support's REPO_ROOT: that module imports torch, and `pytest notebooks/` needs none.
NBVAL_SCRATCH = Path(__file__).resolve().parents[1] / "test-output" / "nbval-artifacts"

# nbval options under which a cell's item passes without the cell having run cleanly: a skipped
# cell never ran, and one tagged raises-exception passes with its error.
EXCUSING_OPTIONS = ("skip", "check_exception")


def is_nbval_item(item: pytest.Item) -> bool:
    return type(item).__module__.split(".")[0] == "nbval"


def code_cell_count(notebook: Path) -> int:
    """The number of code cells in ``notebook``: nbval makes one item of each."""
    return sum(cell.cell_type == "code" for cell in nbformat.read(notebook, as_version=4).cells)


@dataclass
class NotebookCells:
    """nbval's items for one notebook in this session, by cell number (code cells, from 0)."""

    selected: set[int] = field(default_factory=set)  # the items this session runs
    excused: set[int] = field(default_factory=set)  # selected, but skipped or allowed to raise
    passed: set[int] = field(default_factory=set)  # passed their call
    failed: set[int] = field(default_factory=set)  # failed a phase: setup, call or teardown

    def clean_passes(self) -> set[int]:
        """Cells that ran and passed in every phase, with nothing excused."""
        return self.passed - self.failed - self.excused


class NbvalRuns:
    """The record, a pytest plugin: filled from the selected items and their reports (the root
    conftest registers it), read by the fixtures."""

    def __init__(self) -> None:
        self.notebooks: dict[Path, NotebookCells] = {}
        self._cells: dict[str, tuple[Path, int]] = {}  # node id -> (notebook, cell number)

    def select(self, items: list[pytest.Item]) -> None:
        """Note the nbval items this session will run (after any deselection)."""
        for item in items:
            if not is_nbval_item(item):
                continue
            notebook = Path(item.path).resolve()
            cell_num: int = item.cell_num  # type: ignore[attr-defined]
            cells = self.notebooks.setdefault(notebook, NotebookCells())
            cells.selected.add(cell_num)
            options = item.options  # type: ignore[attr-defined]
            if any(options.get(name) for name in EXCUSING_OPTIONS):
                cells.excused.add(cell_num)
            self._cells[item.nodeid] = (notebook, cell_num)

    def record(self, report: pytest.TestReport) -> None:
        """Count one phase's report of an nbval item; other reports are ignored."""
        if report.nodeid not in self._cells:
            return
        notebook, cell_num = self._cells[report.nodeid]
        cells = self.notebooks[notebook]
        if report.failed:
            cells.failed.add(cell_num)
        elif report.when == "call" and report.passed and not hasattr(report, "wasxfail"):
            cells.passed.add(cell_num)  # an unexpected pass of an xfail is no clean pass

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.select(session.items)  # what is left after deselection

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.record(report)

    def cells(self, notebook: Path) -> NotebookCells:
        return self.notebooks.get(notebook.resolve(), NotebookCells())

    def selected_every_cell(self, notebook: Path) -> bool:
        """Whether this session selected every code cell of ``notebook`` for nbval."""
        return self.cells(notebook).selected == set(range(code_cell_count(notebook)))

    def ran_every_cell(self, notebook: Path) -> bool:
        """Whether nbval ran every code cell of ``notebook`` in this session and all passed."""
        cells = self.cells(notebook)
        return self.selected_every_cell(notebook) and cells.clean_passes() == cells.selected


NBVAL_RUNS = pytest.StashKey[NbvalRuns]()
