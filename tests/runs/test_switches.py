"""02's three training-mix switches: each does what its name says, and older runs still resume."""

from __future__ import annotations

import pytest
import torch

from mnist_helpers.errors import ResumeError
from mnist_helpers.loaders import make_train_val_loaders
from mnist_helpers.model import MnistCNN
from mnist_helpers.runs.parameters import TrainParams
from mnist_helpers.runs.resume import check_resume_fits
from tests.helpers import CPU


@pytest.mark.parametrize(
    ("augment", "typed", "nondigits"),
    [(True, True, True), (False, True, False), (True, False, False), (False, False, False)],
)
def test_each_switch_turns_its_own_part_of_the_mix_on(augment, typed, nondigits):
    data = make_train_val_loaders(
        batch_size=64,
        val_fraction=0.15,
        seed=0,
        device=CPU,
        augment=augment,
        typed_digits=typed,
        nondigits_with_arbitrary_labels=nondigits,
        small_run=True,
    )
    mix = data.train_loader.augment
    if not (augment or typed or nondigits):
        assert mix is None
        return
    assert mix.move is augment
    assert (mix.typed_share > 0) is typed and (mix.nondigit_share > 0) is nondigits
    # Training accuracy is measured on digits apart only when labels become arbitrary.
    assert (data.train_digits is not None) is nondigits


def _old_checkpoint(**params) -> dict:
    """A resumable checkpoint as runs saved it before the switches were separate."""
    from mnist_helpers.checkpoint import make_checkpoint

    saved = TrainParams(recipe="constant", epochs=5).as_dict()
    for switch in ("typed_digits", "nondigits_with_arbitrary_labels"):
        saved.pop(switch)
    checkpoint = make_checkpoint(MnistCNN(), epoch=2, params={**saved, **params})
    checkpoint["optimizer_state"] = {}
    checkpoint["rng_state"] = torch.get_rng_state()
    return checkpoint


def test_an_older_run_with_one_augment_switch_resumes_with_all_three():
    check_resume_fits(_old_checkpoint(augment=True), TrainParams(recipe="constant", epochs=5), "x")
    with pytest.raises(ResumeError, match="nondigits_with_arbitrary_labels=False differs"):
        check_resume_fits(
            _old_checkpoint(augment=True),
            TrainParams(recipe="constant", epochs=5, nondigits_with_arbitrary_labels=False),
            "x",
        )
