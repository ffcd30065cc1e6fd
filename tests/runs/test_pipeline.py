"""make run's pipeline: every notebook's parameters are checked before the first one runs."""

from __future__ import annotations

import pytest

from mnist_helpers.runs import pipeline
from mnist_helpers.runs.pipeline import PIPELINE, check_pipeline, parse_value


def test_values_are_read_as_papermill_reads_them():
    assert [parse_value(t) for t in ("True", "False", "None", "7", "0.5", "x")] == [
        True,
        False,
        None,
        7,
        0.5,
        "x",
    ]


def test_the_pipeline_is_the_numbered_notebooks_in_order():
    assert list(PIPELINE) == sorted(PIPELINE)
    assert PIPELINE[:4] == ("01_data_exploration", "02_train", "03_evaluate", "04_inference")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-p", "epochs", "0"], "epochs must be an integer >= 1"),  # a parameter of 02 only
        (["-p", "unsure_below", "2"], "unsure_below must be a probability"),  # of 04 only
        (["-p", "epoch", "3"], "did you mean 'epochs'"),
    ],
)
def test_a_bad_value_for_any_notebook_stops_before_the_first_runs(
    argv, message, tmp_path, monkeypatch, capsys
):
    started = []
    monkeypatch.setattr(pipeline.subprocess, "run", lambda *a, **k: started.append(a))
    code = pipeline.main([*argv, "-p", "artifacts_dir", str(tmp_path / "out")])
    assert code == 2 and message in capsys.readouterr().err
    assert started == [] and not (tmp_path / "out").exists()


def test_the_artifacts_folder_given_is_the_one_checked(tmp_path):
    common = check_pipeline({"artifacts_dir": str(tmp_path / "x"), "seed": 7})
    assert common.artifacts_dir == str(tmp_path / "x") and common.seed == 7
