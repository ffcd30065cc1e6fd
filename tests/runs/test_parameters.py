"""Parameters are checked in one place and bad values name the parameter."""

import pytest
import torch

from mnist_helpers import device
from mnist_helpers.device import autocast_dtype, get_device
from mnist_helpers.errors import ParameterError
from mnist_helpers.runs.parameters import EvaluateParams, InferenceParams, TrainParams


def test_defaults_are_the_default_recipe():
    params = TrainParams()
    assert (params.epochs, params.lr, params.batch_size, params.val_fraction) == (
        5,
        0.001,
        64,
        0.15,
    )
    assert params.recipe == "default"
    assert params.precision == "auto"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("epochs", 0),
        ("epochs", -3),
        ("epochs", 2.5),
        ("epochs", True),
        ("lr", -1),
        ("lr", 0),
        ("lr", float("nan")),
        ("lr", "fast"),
        ("val_fraction", 1.5),
        ("val_fraction", 0.0),
        ("val_fraction", 1.0),
        ("batch_size", 0),
        ("batch_size", 100_000),
        ("seed", -1),
        ("recipe", "turbo"),
        ("augment", "yes"),
        ("artifacts_dir", ""),
        ("small_run", 1),
        ("precision", "fp16"),
        ("precision", None),
    ],
)
def test_bad_train_parameter_names_itself(name, value):
    with pytest.raises(ParameterError, match=name):
        TrainParams(**{name: value})


def test_missing_device_is_refused_with_the_allowed_values():
    with pytest.raises(ParameterError, match="device") as caught:
        TrainParams(device="tpu")
    assert "cpu" in str(caught.value)


@pytest.mark.skipif(get_device("auto").type == "cuda", reason="this machine has CUDA")
def test_absent_cuda_is_refused():
    with pytest.raises(ParameterError, match="not available"):
        get_device("cuda")


def test_integer_lr_is_accepted_as_float():
    assert TrainParams(lr=1).lr == 1.0


def test_other_notebooks_check_their_parameters():
    with pytest.raises(ParameterError, match="batch_size"):
        EvaluateParams(batch_size=0)
    with pytest.raises(ParameterError, match="unsure_below"):
        InferenceParams(unsure_below=1.5)


def test_precision_auto_uses_bf16_only_on_cpus_with_bf16_instructions(monkeypatch):
    cpu = torch.device("cpu")
    expected = torch.bfloat16 if device.cpu_has_native_bf16() else None
    assert autocast_dtype("auto", cpu) is expected  # this machine, whatever its CPU
    for native, dtype in [(True, torch.bfloat16), (False, None)]:
        monkeypatch.setattr(device, "cpu_has_native_bf16", lambda native=native: native)
        assert autocast_dtype("auto", cpu) is dtype
    assert autocast_dtype("auto", torch.device("meta")) is None


def test_precision_fp32_and_bf16_are_explicit():
    cpu = torch.device("cpu")
    assert autocast_dtype("fp32", cpu) is None
    assert autocast_dtype("bf16", cpu) is torch.bfloat16
    with pytest.raises(ParameterError, match="precision"):
        autocast_dtype("half", cpu)
    with pytest.raises(ParameterError, match="fp32"):
        autocast_dtype("bf16", torch.device("meta"))


def test_precision_labels_read_plainly():
    assert device.precision_label(None) == "fp32"
    assert device.precision_label(torch.bfloat16) == "bf16 autocast"


@pytest.mark.parametrize(("old", "new"), [("baseline", "default"), ("seed", "constant")])
def test_old_recipe_names_are_read_as_their_new_names(old, new):
    assert TrainParams(recipe=old).recipe == new
