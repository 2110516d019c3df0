"""Buggy: no optimizer.zero_grad()."""

import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    loss.backward()
    optimizer.step()
    return loss.item()
