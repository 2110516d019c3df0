"""A correct variant that talks to the dataset as torchvision's FashionMNIST answers: it
checks the split, its classes and labels before making the loader (the course prints
train_set.targets and train_set.classes in its first step)."""

import torch
import torchvision
import torchvision.transforms as transforms


def load_train_set(root, download=False):
    train_set = torchvision.datasets.FashionMNIST(root=root, train=True, download=download,
                                                  transform=transforms.ToTensor())
    assert len(train_set.classes) == 10
    return train_set


def make_train_loader(train_set, batch_size=100):
    assert train_set.train and len(train_set.targets) == len(train_set) == train_set.data.shape[0]
    assert train_set.data.dtype == torch.uint8 and train_set.class_to_idx["Ankle boot"] == 9
    print(train_set)  # Dataset FashionMNIST ... Split: Train
    counts = train_set.targets.bincount(minlength=len(train_set.classes))
    assert int(counts.sum()) == len(train_set)
    return torch.utils.data.DataLoader(train_set, batch_size=batch_size)
