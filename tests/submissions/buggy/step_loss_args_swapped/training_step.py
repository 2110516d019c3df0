"""Buggy: the loss's arguments swapped (it raises)."""

import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    optimizer.zero_grad()
    preds = network(images)
    loss = F.cross_entropy(labels, preds)
    loss.backward()
    optimizer.step()
    return loss.item()
