"""Buggy: a RandomRotation(10) after ToTensor(). Found by benchmarks/mutants.py."""

import torch
import torchvision
import torchvision.transforms as transforms


def load_train_set(root, download=False):
    return torchvision.datasets.FashionMNIST(
        root=root,
        train=True,
        download=download,
        transform=transforms.Compose([transforms.ToTensor(), transforms.RandomRotation(10)]),
    )


def make_train_loader(train_set, batch_size=100):
    return torch.utils.data.DataLoader(train_set, batch_size=batch_size)
