"""Buggy: zero_grad() between backward() and step() wipes the gradients the step needs."""

import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()
