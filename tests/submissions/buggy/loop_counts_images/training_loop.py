"""Buggy: adds the batch size where the correct count belongs."""

import torch.nn.functional as F


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
        total_correct += len(labels)
    return total_loss, total_correct
