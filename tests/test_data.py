"""The grader's fast data path gives exactly what DataLoader + ToTensor gives.

Needs the real FashionMNIST (CI installs Debian's dataset-fashion-mnist).
"""

from __future__ import annotations

import pytest
import torch
import torchvision
import torchvision.transforms as transforms

from fcnn_grader import data as data_mod

# Module-scoped fixtures (data, trained networks): with `--dist loadgroup` one worker
# runs this module, so they are made once.
pytestmark = pytest.mark.xdist_group("test_data")


@pytest.fixture(scope="module")
def root():
    try:
        return data_mod.materialize(data_mod.resolve_source(None, False))
    except data_mod.DataUnavailable as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("train", [True, False], ids=["train", "test"])
def test_fast_batches_equal_dataloader_with_to_tensor(root, train):
    dataset = torchvision.datasets.FashionMNIST(str(root), train=train, transform=transforms.Compose([transforms.ToTensor()]))
    expected = torch.utils.data.DataLoader(dataset, batch_size=100)
    fast = data_mod.TensorBatches(data_mod.load_split(root, train), batch_size=100)
    assert len(fast) == len(expected) == len(dataset) // 100
    count = 0
    for (images, labels), (want_images, want_labels) in zip(fast, expected, strict=True):
        assert images.dtype == want_images.dtype == torch.float32
        assert torch.equal(images, want_images), f"batch {count}"
        assert torch.equal(labels, want_labels), f"batch {count}"
        count += 1
    assert count == len(dataset) // 100


def test_a_batch_edited_in_place_leaves_the_data_alone(root):
    split = data_mod.load_split(root, train=False)
    first = next(iter(data_mod.TensorBatches(split, 100)))[0]
    first.zero_()
    assert next(iter(data_mod.TensorBatches(split, 100)))[0].sum() > 0
    generated = data_mod.Split(torch.rand(3, 1, 28, 28), torch.zeros(3, dtype=torch.int64))
    batch = next(iter(data_mod.TensorBatches(generated, 3)))[0]
    batch.zero_()
    assert generated.pixels.sum() > 0


def test_cached_split_is_read_once(root):
    assert data_mod.cached_split(root, True) is data_mod.cached_split(root, True)


def test_split_dataset_serves_items_like_torchvision(root):
    dataset = torchvision.datasets.FashionMNIST(str(root), train=True, transform=transforms.ToTensor())
    ours = data_mod.SplitDataset(data_mod.cached_split(root, True))
    for i in (0, 59_999):
        assert torch.equal(ours[i][0], dataset[i][0]) and ours[i][1] == dataset[i][1]


@pytest.mark.parametrize("train", [True, False], ids=["train", "test"])
def test_split_dataset_answers_what_torchvision_answers(root, train):
    """What student code reads off the dataset handed to make_train_loader, besides its items."""
    real = torchvision.datasets.FashionMNIST(str(root), train=train, transform=transforms.ToTensor())
    ours = data_mod.SplitDataset(data_mod.cached_split(root, train), train=train, root=str(root))
    assert ours.classes == real.classes and ours.class_to_idx == real.class_to_idx
    assert ours.train == real.train and ours.target_transform is real.target_transform is None
    assert ours.data.dtype == real.data.dtype and torch.equal(ours.data, real.data)
    assert ours.targets.dtype == real.targets.dtype and torch.equal(ours.targets, real.targets)
    assert repr(ours) == repr(real) and repr(ours.transform) == repr(real.transform)
    ours.data.zero_(), ours.targets.zero_()  # a student's in-place edit stays in the copies
    assert data_mod.cached_split(root, train).pixels.sum() > 0 and data_mod.cached_split(root, train).labels.sum() > 0
    generated = data_mod.SplitDataset(data_mod.Split(torch.rand(2, 1, 28, 28), torch.tensor([3, 9])))
    assert generated.data.shape == (2, 28, 28) and generated.data.dtype == torch.uint8


def test_the_split_stays_in_bytes(root):
    assert data_mod.cached_split(root, True).pixels.dtype == torch.uint8  # 47 MB, not 188
