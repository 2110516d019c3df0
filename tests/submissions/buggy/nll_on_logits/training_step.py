"""Buggy: F.nll_loss on raw logits (it wants log-probabilities)."""

import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    optimizer.zero_grad()
    preds = network(images)
    loss = F.nll_loss(preds, labels)
    loss.backward()
    optimizer.step()
    return loss.item()
