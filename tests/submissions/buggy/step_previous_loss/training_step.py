"""Buggy: returns the previous call's loss (the first call returns its own). Found by benchmarks/mutants.py."""

import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    optimizer.zero_grad()
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    loss.backward()
    optimizer.step()
    previous = training_step.__dict__.get("previous", loss.item())
    training_step.previous = loss.item()
    return previous
