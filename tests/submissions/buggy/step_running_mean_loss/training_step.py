"""Buggy: returns the running mean of the losses so far (right on the first call only)."""

import torch.nn.functional as F

history = []


def training_step(network, optimizer, images, labels):
    optimizer.zero_grad()
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    loss.backward()
    optimizer.step()
    history.append(loss.item())
    return sum(history) / len(history)
