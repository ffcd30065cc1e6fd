"""make student: copies of the notebooks with no answer left in them."""

from __future__ import annotations

import re

import nbformat
import pytest

from tests.helpers import NOTEBOOKS, REPO_ROOT
from tools.student_notebooks import main


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student")
    assert main(["--into", str(folder)]) == 0
    return folder


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_has_at_least_four_exercises_with_answer_cells(name):
    notebook = nbformat.read(REPO_ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert len(re.findall(r"^\*\*\d+\. ", markdown, re.M)) >= 4
    assert markdown.count("<details>") >= 4
    assert sum("answer" in c.metadata.get("tags", []) for c in notebook.cells) >= 4


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_student_copy_holds_the_exercises_but_no_answer(copies, name):
    original = nbformat.read(REPO_ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    copy = nbformat.read(copies / f"{name}.ipynb", as_version=4)
    text = "\n".join(c.source for c in copy.cells)
    assert "<details>" not in text and "Answer" not in text
    assert not any("answer" in c.metadata.get("tags", []) for c in copy.cells)
    assert not any(c.get("outputs") for c in copy.cells if c.cell_type == "code")
    exercises = [line for line in text.splitlines() if re.match(r"\*\*\d+\. ", line)]
    originals = [
        line
        for c in original.cells
        for line in c.source.splitlines()
        if re.match(r"\*\*\d+\. ", line)
    ]
    assert exercises == originals
