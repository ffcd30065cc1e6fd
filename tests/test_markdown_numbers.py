"""Text beside results cannot drift: every number typed in a notebook's markdown is either a fixed
fact listed here (with where it comes from) or printed by the notebook's own outputs.

Run-specific numbers (accuracies, losses, timings, best epochs) must be printed by code; a number
typed into markdown that no output shows and that is not a listed fact fails this test.
"""

from __future__ import annotations

import re
from decimal import Decimal

import nbformat
import pytest

from tests.helpers import NOTEBOOKS, REPO_ROOT

# Numbers that do not depend on a run, each with its source. Keep this list short and explained.
INVARIANT_FACTS = {
    # The ten digit classes (0 to 9), "10 classes", and the numbers of lists and exercises.
    **{str(n): "a digit class, a count of classes or a list number" for n in range(11)},
    "01": "notebook name",
    "02": "notebook name",
    "03": "notebook name",
    "04": "notebook name",
    # MNIST itself (the files shipped in data/, checked by MD5).
    "28": "image side in pixels",
    "784": "28 x 28 pixels",
    "255": "largest uint8 pixel value",
    "20": "MNIST digits were fitted into a 20 x 20 box",
    "60,000": "training images",
    "10,000": "test images",
    "47,040,000": "60,000 x 784 numbers in the training set",
    "47": "megabytes of 47,040,000 one-byte pixels",
    # The split (val_fraction 0.15 of 60,000; exercise: 0.05).
    "85": "per cent of the training images used for training",
    "15": "per cent held out for validation",
    "51,000": "85 % of 60,000",
    "9,000": "15 % of 60,000",
    "3,000": "5 % of 60,000",
    "0.033": "one image in 3,000, in percentage points",
    "0.01": "one image in 10,000, in percentage points",
    "1,000": "small-run test images; the first 1,000 test images in an exercise",
    # Normalisation constants MNIST_MEAN = 0.1307 and MNIST_STD = 0.3081 (mnist_helpers.data).
    "0.42": "(0 - 0.1307) / 0.3081: black after normalising",
    "2.82": "(1 - 0.1307) / 0.3081: white after normalising",
    # The default network (recipes.SMALL_CNN), checked by nbval on 02's layer table.
    "14": "28 halved by the first max-pool",
    "16": "channels of the first block",
    "32": "channels of the second block",
    "64": "channels of the third block; the default batch size",
    "128": "units of the hidden linear layer",
    "576": "64 channels x 3 x 3 after the third block",
    "4,608": "32 x 16 x 3 x 3 weights of the second convolution",
    "4,640": "4,608 weights + 32 biases",
    # Mathematics.
    "2.30": "ln 10, the loss of a uniform guess over 10 classes",
    "0.1": "1 / 10, a uniform probability over 10 classes",
    "22,000": "e^10, the probability ratio of a logit gap of 10",
    # Thresholds and examples the text uses as illustrations, not as results.
    "0.8": "a confidence used to explain calibration",
    "80": "0.8 as a percentage",
    "0.9": "a confidence / threshold used as an example",
    "1.0": "the upper end of the confidence range",
    "99.9": "the accuracy target of an exercise",
    "280": "side of the canvas and of the scan-like sample in pixels",
    "45": "minutes 02 is written to take: one class hour",
}

NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")


def _prose(markdown: str) -> str:
    """Markdown without code, link targets, addresses and HTML tags: only the words a reader reads
    as text (code spans hold commands and parameter values, not results)."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"https?://\S+", " ", text)
    return re.sub(r"<[^>]+>", " ", text)


def numbers_in(text: str) -> list[str]:
    """The numbers written in ``text``, as written (a trailing comma of a sentence dropped)."""
    return [match.rstrip(",") for match in NUMBER.findall(text)]


def _value(number: str) -> Decimal:
    return Decimal(number.replace(",", ""))


def _output_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def _parameters_source(notebook: nbformat.NotebookNode) -> str:
    return "\n".join(c.source for c in notebook.cells if "parameters" in c.metadata.get("tags", []))


def unexplained_numbers(notebook: nbformat.NotebookNode) -> list[str]:
    """Numbers typed in markdown that are neither listed facts nor shown by the notebook's outputs
    or its parameter defaults."""
    facts = {_value(n) for n in INVARIANT_FACTS}
    shown = {
        _value(n)
        for cell in notebook.cells
        if cell.cell_type == "code"
        for n in numbers_in(_output_text(cell))
    }
    defaults = {_value(n) for n in numbers_in(_parameters_source(notebook))}
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for number in numbers_in(_prose(cell.source)):
            if number in INVARIANT_FACTS or _value(number) in facts | shown | defaults:
                continue
            found.append(f"{number!r} in: {cell.source[:70]!r}...")
    return found


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_number_typed_in_markdown_is_a_fact_or_an_output(name):
    notebook = nbformat.read(REPO_ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    assert unexplained_numbers(notebook) == []


def test_a_typed_result_that_no_output_shows_is_caught():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("Test accuracy reaches 98.5 % (README), see `-p lr 0.01`."),
        nbformat.v4.new_code_cell("print(acc)"),
    ]
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", text="test accuracy 98.99%\n")]
    assert [entry.split(" ")[0] for entry in unexplained_numbers(notebook)] == ["'98.5'"]


def test_a_typed_number_that_an_output_prints_passes():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("The loss falls to 0.0358 (printed below)."),
        nbformat.v4.new_code_cell("print(loss)"),
    ]
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", text="val loss 0.0358\n")]
    assert unexplained_numbers(notebook) == []


def test_every_listed_fact_is_still_used_by_some_notebook():
    used = set()
    for name in NOTEBOOKS:
        notebook = nbformat.read(REPO_ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        for cell in notebook.cells:
            if cell.cell_type == "markdown":
                used.update(numbers_in(_prose(cell.source)))
    stale = sorted(set(INVARIANT_FACTS) - used - {str(n) for n in range(11)})
    assert stale == [], f"facts no notebook mentions any more; remove them: {stale}"


def _colab_setting(source: str, name: str) -> str:
    match = re.search(rf'^\s*{name} = "([^"]+)"', source, re.MULTILINE)
    assert match, f"the Colab set-up cell sets no {name}"
    return match.group(1)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_colab_cell_installs_the_core_of_this_release_from_the_projects_own_repository(name):
    import tomllib

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    notebook = nbformat.read(REPO_ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    cells = [c.source for c in notebook.cells if "google.colab" in c.source]
    assert len(cells) == 1, "one Colab set-up cell"
    assert _colab_setting(cells[0], "REPOSITORY") == project["urls"]["Repository"]
    assert _colab_setting(cells[0], "RELEASE") == f"v{project['version']}"
    assert "--branch {RELEASE}" in cells[0]
    # The core only: the extras (JupyterLab, papermill, ...) would fight Colab's own Jupyter.
    assert re.search(r"pip install --quiet -e \.$", cells[0], re.MULTILINE)
