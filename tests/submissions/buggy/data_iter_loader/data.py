"""The FashionMNIST training set and its loader (buggy: a one-pass iterator, not the loader)."""

import torch
import torchvision
import torchvision.transforms as transforms


def load_train_set(root, download=False):
    return torchvision.datasets.FashionMNIST(
        root=root,
        train=True,
        download=download,
        transform=transforms.Compose([transforms.ToTensor()]),
    )


def make_train_loader(train_set, batch_size=100):
    return iter(torch.utils.data.DataLoader(train_set, batch_size=batch_size))
