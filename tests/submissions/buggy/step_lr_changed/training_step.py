"""Buggy: sets the learning rate to 0.1 inside the step (the course's Adam uses 0.01)."""

import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    for group in optimizer.param_groups:
        group["lr"] = 0.1
    optimizer.zero_grad()
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    loss.backward()
    optimizer.step()
    return loss.item()
