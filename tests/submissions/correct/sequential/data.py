"""Correct variant: ToTensor without Compose, explicit DataLoader arguments."""

from torch.utils.data import DataLoader
from torchvision import datasets, transforms


def load_train_set(root, download=False):
    return datasets.FashionMNIST(root, train=True, download=download, transform=transforms.ToTensor())


def make_train_loader(train_set, batch_size=100):
    return DataLoader(train_set, batch_size=batch_size, shuffle=False, num_workers=0)
