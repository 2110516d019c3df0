"""Fault: every function hangs."""

import torch
import torchvision
import torchvision.transforms as transforms


def load_train_set(root, download=False):
    while True:
        pass
    return torchvision.datasets.FashionMNIST(
        root=root,
        train=True,
        download=download,
        transform=transforms.Compose([transforms.ToTensor()]),
    )


def make_train_loader(train_set, batch_size=100):
    while True:
        pass
    return torch.utils.data.DataLoader(train_set, batch_size=batch_size)
