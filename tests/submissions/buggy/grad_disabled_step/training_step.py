"""Buggy: gradient tracking turned off at import."""

import torch
import torch.nn.functional as F

torch.set_grad_enabled(False)  # copied from the previous episode


def training_step(network, optimizer, images, labels):
    optimizer.zero_grad()
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    loss.backward()
    optimizer.step()
    return loss.item()
