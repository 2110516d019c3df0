"""Buggy: optimizer.step() before loss.backward()."""

import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    optimizer.zero_grad()
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    optimizer.step()
    loss.backward()
    return loss.item()
