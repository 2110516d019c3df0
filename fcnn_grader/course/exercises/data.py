"""Exercise `data`: prepare the FashionMNIST training set and a loader.

Check it with:  pytest --exercise=data

load_train_set(root, download=False): torchvision's FashionMNIST training
split under `root`, with transforms.ToTensor() as its only transform.

make_train_loader(train_set, batch_size=100): a torch DataLoader over
train_set giving batches of batch_size, in dataset order.
"""

import torch  # noqa: F401
import torchvision  # noqa: F401
import torchvision.transforms as transforms  # noqa: F401


def load_train_set(root, download=False):
    # TODO: return torchvision.datasets.FashionMNIST(...) for the training split.
    raise NotImplementedError


def make_train_loader(train_set, batch_size=100):
    # TODO: return a torch.utils.data.DataLoader over train_set.
    raise NotImplementedError
