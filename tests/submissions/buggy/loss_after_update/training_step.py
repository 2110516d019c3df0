"""Buggy: the loss after the update returned."""

import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    optimizer.zero_grad()
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    loss.backward()
    optimizer.step()
    return F.cross_entropy(network(images), labels).item()
