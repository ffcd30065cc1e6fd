"""The slow half of test_resume.py: the tests that use a shared training or notebook run."""

from __future__ import annotations

import pytest


@pytest.mark.slow
@pytest.mark.parametrize("refused_train_run", ["changed recipe"], indirect=True)
def test_train_notebook_refuses_a_changed_recipe_before_loading_data(refused_train_run):
    # -p recipe strong on a default-recipe checkpoint died in load_state_dict. The
    # run (``refused_train_runs`` in conftest) resumes a baseline small run's checkpoint with
    # -p recipe strong.
    assert refused_train_run.returncode != 0
    message = "ResumeError: resume: recipe='strong' differs from the run in"
    assert message in refused_train_run.stderr
    assert "RuntimeError" not in refused_train_run.stderr
