"""The FashionMNIST training set and its loader (buggy: a random crop added, which leaves some images as they were)."""

import torch
import torchvision
import torchvision.transforms as transforms


def load_train_set(root, download=False):
    return torchvision.datasets.FashionMNIST(
        root=root,
        train=True,
        download=download,
        transform=transforms.Compose([transforms.ToTensor(), transforms.RandomCrop(28, padding=2)]),
    )


def make_train_loader(train_set, batch_size=100):
    return torch.utils.data.DataLoader(train_set, batch_size=batch_size)
