"""Buggy: next(iter(loader)) inside the loop takes the first batch every time."""

import torch.nn.functional as F

from metrics import get_num_correct


def train_epoch(network, optimizer, loader):
    total_loss = 0
    total_correct = 0
    for _ in range(len(loader)):
        images, labels = next(iter(loader))
        preds = network(images)
        loss = F.cross_entropy(preds, labels)

        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

        total_loss += loss.item()
        total_correct += get_num_correct(preds, labels)
    return total_loss, total_correct
