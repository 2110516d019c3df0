"""Buggy: keeps the first call's loss and returns it on every call. Found by benchmarks/mutants.py."""

import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    optimizer.zero_grad()
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    loss.backward()
    optimizer.step()
    training_step.__dict__.setdefault("first", loss.item())
    return training_step.first
