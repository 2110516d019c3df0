"""Correct variant: torchvision's v2 replacement for ToTensor() (the same pixels up to float rounding)."""

import torch
import torchvision
from torchvision.transforms import v2


def load_train_set(root, download=False):
    transform = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    return torchvision.datasets.FashionMNIST(root, train=True, download=download, transform=transform)


def make_train_loader(train_set, batch_size=100):
    return torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=False)
