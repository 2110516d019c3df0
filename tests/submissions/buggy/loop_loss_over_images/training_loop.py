"""One epoch over every batch (buggy: the sum of batch means divided by the number of images)."""

import torch.nn.functional as F

from metrics import get_num_correct


def train_epoch(network, optimizer, loader):
    total_loss = 0
    total_correct = 0
    for images, labels in loader:
        preds = network(images)
        loss = F.cross_entropy(preds, labels)

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        total_loss += loss.item()
        total_correct += get_num_correct(preds, labels)
    return total_loss / len(loader.dataset), total_correct  # "the loss per image"
