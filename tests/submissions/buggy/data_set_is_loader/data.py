"""Buggy: load_train_set returns a DataLoader, not the dataset."""

import torch
import torchvision
import torchvision.transforms as transforms


def load_train_set(root, download=False):
    train_set = torchvision.datasets.FashionMNIST(root=root, train=True, download=download, transform=transforms.ToTensor())
    return torch.utils.data.DataLoader(train_set, batch_size=100)


def make_train_loader(train_set, batch_size=100):
    return torch.utils.data.DataLoader(train_set, batch_size=batch_size)
