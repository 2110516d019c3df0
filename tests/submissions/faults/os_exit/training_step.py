"""Fault: os._exit(0) in the step."""

import os

import torch.nn.functional as F


def training_step(network, optimizer, images, labels):
    os._exit(0)
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    loss.backward()
    optimizer.step()
    return loss.item()
