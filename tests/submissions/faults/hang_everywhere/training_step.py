"""Fault: every function hangs."""

import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    while True:
        pass
    optimizer.zero_grad()
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    loss.backward()
    optimizer.step()
    return loss.item()
