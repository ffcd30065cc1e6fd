"""The record of nbval's run that lets ``small_pipeline`` reuse it: it may say "every cell ran
and passed" only when nbval really ran and passed every code cell of the notebook."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.nbval_runs import NbvalRuns, code_cell_count


class _Cell:
    """Stands in for nbval's item of one code cell (nbval.plugin.IPyNbCell)."""

    __module__ = "nbval.plugin"  # what is_nbval_item looks at

    def __init__(self, notebook: Path, cell_num: int, **options: bool) -> None:
        self.path = notebook
        self.cell_num = cell_num
        self.options = options
        self.nodeid = f"{notebook.name}::Cell {cell_num}"


class _OtherTest:
    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid


def _report(nodeid: str, when: str, outcome: str = "passed", **extra: str) -> pytest.TestReport:
    report = pytest.TestReport(nodeid, ("x", 0, nodeid), {}, outcome, None, when)
    for key, value in extra.items():
        setattr(report, key, value)
    return report


def _run(runs: NbvalRuns, item: _Cell, call: str = "passed", teardown: str = "passed") -> None:
    for when, outcome in (("setup", "passed"), ("call", call), ("teardown", teardown)):
        runs.record(_report(item.nodeid, when, outcome))


@pytest.fixture
def notebook(tmp_path: Path) -> Path:
    """A notebook of three code cells and a markdown cell."""
    path = tmp_path / "03_three.ipynb"
    cells = [nbformat.v4.new_code_cell("1"), nbformat.v4.new_markdown_cell("text")]
    cells += [nbformat.v4.new_code_cell("2"), nbformat.v4.new_code_cell("3")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_code_cells_are_counted_markdown_is_not(notebook):
    assert code_cell_count(notebook) == 3


def test_every_cell_passed_in_every_phase_is_a_full_run(notebook):
    runs = NbvalRuns()
    items = [_Cell(notebook, n) for n in range(3)]
    runs.select([*items, _OtherTest("tests/test_x.py::test_y")])
    for item in items:
        _run(runs, item)
    runs.record(_report("tests/test_x.py::test_y", "call", "failed"))  # not a notebook cell
    assert runs.ran_every_cell(notebook)
    assert runs.cells(notebook).clean_passes() == {0, 1, 2}


def test_notebook_nbval_did_not_run_is_no_full_run(notebook):
    assert not NbvalRuns().ran_every_cell(notebook)


def test_cells_not_run_yet_or_deselected_are_no_full_run(notebook):
    runs = NbvalRuns()
    items = [_Cell(notebook, n) for n in range(3)]
    runs.select(items[:2])  # the third deselected, e.g. by -k
    assert not runs.ran_every_cell(notebook)  # collected, nothing run yet
    for item in items:
        _run(runs, item)  # a report for an unselected item counts for nothing
    assert not runs.ran_every_cell(notebook)


@pytest.mark.parametrize(
    ("call", "teardown"), [("failed", "passed"), ("passed", "failed"), ("skipped", "passed")]
)
def test_a_failed_or_skipped_phase_is_no_full_run(notebook, call, teardown):
    runs = NbvalRuns()
    items = [_Cell(notebook, n) for n in range(3)]
    runs.select(items)
    _run(runs, items[0])
    _run(runs, items[1], call=call, teardown=teardown)
    _run(runs, items[2])
    assert not runs.ran_every_cell(notebook)


def test_a_failed_setup_is_no_full_run(notebook):
    runs = NbvalRuns()
    items = [_Cell(notebook, n) for n in range(3)]
    runs.select(items)
    runs.record(_report(items[0].nodeid, "setup", "failed"))  # e.g. the kernel did not start
    for item in items:
        runs.record(_report(item.nodeid, "call"))
    assert not runs.ran_every_cell(notebook)


@pytest.mark.parametrize("option", ["skip", "check_exception"])
def test_a_cell_nbval_excuses_is_no_full_run(notebook, option):
    # A cell tagged nbval-skip never ran; one tagged raises-exception passes with its error.
    runs = NbvalRuns()
    items = [_Cell(notebook, 0), _Cell(notebook, 1, **{option: True}), _Cell(notebook, 2)]
    runs.select(items)
    for item in items:
        _run(runs, item)
    assert not runs.ran_every_cell(notebook)


def test_an_unexpected_pass_after_a_timeout_is_no_clean_pass(notebook):
    # After a cell times out nbval marks the rest xfail: one that passes anyway (XPASS) is no
    # clean pass.
    runs = NbvalRuns()
    items = [_Cell(notebook, n) for n in range(3)]
    runs.select(items)
    _run(runs, items[0])
    _run(runs, items[1])
    runs.record(_report(items[2].nodeid, "call", wasxfail="Previous cell timed out"))
    assert not runs.ran_every_cell(notebook)
