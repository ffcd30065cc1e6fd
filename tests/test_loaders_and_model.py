"""In-memory batches and the model, on small synthetic tensors."""

import pytest
import torch

from mnist_helpers import loaders
from mnist_helpers.data import MnistSplit
from mnist_helpers.errors import ParameterError
from mnist_helpers.loaders import TensorBatches
from mnist_helpers.model import (
    MnistCNN,
    count_parameters,
    layer_table,
    multiply_adds_per_image,
)


def _loader(num=10, batch_size=4, seed=0):
    images = torch.arange(num, dtype=torch.float32).reshape(num, 1, 1, 1)
    return TensorBatches(images, torch.arange(num), batch_size, shuffle=True, seed=seed)


def test_every_sample_once_per_epoch_with_images_and_labels_together():
    loader = _loader()
    seen = torch.cat([labels for _, labels in loader])
    assert sorted(seen.tolist()) == list(range(10))
    assert len(loader) == 3
    for images, labels in loader:
        assert torch.equal(images.flatten().long(), labels)


def test_shuffle_depends_on_seed_and_epoch_only():
    def order(seed, epoch):
        loader = _loader(seed=seed)
        loader.set_epoch(epoch)
        return torch.cat([labels for _, labels in loader]).tolist()

    assert order(0, 1) == order(0, 1)
    assert order(0, 1) != order(0, 2)
    assert order(0, 1) != order(1, 1)


def test_unshuffled_loader_keeps_order():
    loader = TensorBatches(torch.zeros(5, 1, 2, 2), torch.arange(5), 2)
    assert torch.cat([labels for _, labels in loader]).tolist() == [0, 1, 2, 3, 4]


def test_mismatched_lengths_are_refused():
    with pytest.raises(ParameterError, match="labels"):
        TensorBatches(torch.zeros(3, 1, 2, 2), torch.arange(4), 2)


def test_batch_size_below_one_is_refused():
    with pytest.raises(ParameterError, match="batch_size"):
        TensorBatches(torch.zeros(3, 1, 2, 2), torch.arange(3), 0)


def test_model_returns_raw_logits_of_the_right_shape():
    torch.manual_seed(0)
    model = MnistCNN().eval()
    logits = model(torch.randn(5, 1, 28, 28))
    assert logits.shape == (5, 10)
    # Raw logits: not a probability distribution.
    assert not torch.allclose(logits.sum(1), torch.ones(5))
    assert not any(isinstance(m, torch.nn.Softmax) for m in model.modules())


def test_each_block_reads_conv_relu_pool_in_textbook_order():
    kinds = [type(layer).__name__ for layer in MnistCNN().features]
    assert kinds == ["Conv2d", "ReLU", "MaxPool2d"] * 3


@pytest.mark.parametrize("convs_per_block", [1, 2])
def test_the_benchmarks_pool_before_relu_variant_computes_the_same_outputs(convs_per_block):
    from benchmarks.step_variants import pool_before_relu

    torch.manual_seed(0)
    model = MnistCNN(convs_per_block=convs_per_block, batch_norm=True).eval()
    fast = pool_before_relu(model).eval()
    kinds = [type(layer) for layer in fast.features]
    pool = kinds.index(torch.nn.MaxPool2d)
    assert kinds[pool + 1] is torch.nn.ReLU
    images = torch.randn(8, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model(images), fast(images))


def test_model_is_rebuilt_from_its_recorded_arguments():
    model = MnistCNN(conv_channels=(8, 16, 32), hidden_units=40, dropout=0.1, batch_norm=True)
    rebuilt = MnistCNN(**model.config)
    rebuilt.load_state_dict(model.state_dict())
    assert rebuilt.config == model.config
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_parameter_count_and_layer_table_agree():
    model = MnistCNN()
    # conv 1->16: 16*9+16, 16->32: 32*16*9+32, 32->64: 64*32*9+64, fc 64*3*3->128, fc 128->10
    expected = 160 + 4_640 + 18_496 + 576 * 128 + 128 + 1290
    assert count_parameters(model) == expected
    table = layer_table(model)
    assert sum(row["parameters"] for row in table) == expected
    assert table[-1]["output_shape"] == (10,)


def test_multiply_adds_of_the_default_model():
    # conv 28*28*16*9 + 14*14*32*16*9 + 7*7*64*32*9, fc 576*128 + 128*10
    expected = 112_896 + 903_168 + 903_168 + 73_728 + 1_280
    assert multiply_adds_per_image(MnistCNN()) == expected


def test_multiply_adds_of_the_seed_style_model():
    # conv 28*28*32*9 + 14*14*64*32*9, fc 3136*128 + 128*10: about 8.5 MFLOP forward
    expected = 225_792 + 3_612_672 + 401_408 + 1_280
    assert multiply_adds_per_image(MnistCNN(conv_channels=(32, 64))) == expected


def test_bad_widths_are_refused():
    with pytest.raises(ParameterError, match="conv_channels"):
        MnistCNN(conv_channels=())
    with pytest.raises(ParameterError, match="convs_per_block"):
        MnistCNN(convs_per_block=4)


def test_augmentation_is_applied_to_every_image_once_per_epoch():
    calls = []

    def add_one(images, labels):
        calls.append(len(images))
        assert len(labels) == len(images)  # each chunk comes with its own labels
        return images + 1

    images = torch.zeros(10, 1, 2, 2)
    loader = TensorBatches(images, torch.arange(10), 4, shuffle=True, augment=add_one)
    batches = list(loader)
    assert sum(calls) == 10  # whole set, once, before batching
    assert all(torch.equal(batch, torch.ones_like(batch)) for batch, _ in batches)
    assert torch.equal(loader.images, images)  # the stored images stay untouched


def test_augmentation_cannot_be_attached_after_construction():
    loader = TensorBatches(torch.zeros(4, 1, 2, 2), torch.arange(4), 2)
    with pytest.raises(AttributeError):
        loader.augment = lambda images, labels: images + 1
    assert loader.augment is None
    assert torch.equal(torch.cat([images for images, _ in loader]), torch.zeros(4, 1, 2, 2))


@pytest.fixture
def tiny_mnist(monkeypatch: pytest.MonkeyPatch) -> None:
    """``load_mnist`` replaced by 40 all-black images, so the loaders build in milliseconds."""

    def fake_load_mnist(train: bool, root=None) -> MnistSplit:
        return MnistSplit(torch.zeros(40, 28, 28, dtype=torch.uint8), torch.arange(40) % 10)

    monkeypatch.setattr(loaders, "load_mnist", fake_load_mnist)


@pytest.mark.parametrize("augment", [True, False])
def test_train_val_loaders_take_augmentation_at_construction(tiny_mnist, augment: bool):
    data = loaders.make_train_val_loaders(
        batch_size=8, val_fraction=0.25, seed=0, device=torch.device("cpu"), augment=augment
    )
    assert (data.train_loader.augment is not None) is augment
    assert data.val_loader.augment is None  # validation images are never moved
    assert data.train_loader.num_samples == 30 and data.val_loader.num_samples == 10


def test_train_val_loaders_refuse_a_non_boolean_augment(tiny_mnist):
    with pytest.raises(ParameterError, match="augment must be True or False"):
        loaders.make_train_val_loaders(
            batch_size=8,
            val_fraction=0.25,
            seed=0,
            device=torch.device("cpu"),
            augment=lambda images, labels: images,
        )


def test_a_data_loader_over_a_tensor_dataset_gives_the_same_batches():
    images, labels = torch.randn(150, 1, 28, 28), torch.randint(0, 10, (150,))
    for shuffle in (False, True):
        batches = loaders.TensorBatches(images, labels, 32, shuffle=shuffle, seed=7)
        batches.set_epoch(3)
        pairs = list(zip(batches, batches.as_data_loader(), strict=True))
        assert len(pairs) == 5
        for (mine, my_labels), (theirs, their_labels) in pairs:
            assert torch.equal(mine, theirs) and torch.equal(my_labels, their_labels)
