"""Counts with a no_grad forward before each step, then reuses training_step (correct variant)."""

import torch

from metrics import get_num_correct
from training_step import training_step


def train_epoch(network, optimizer, loader):
    total_loss, total_correct = 0.0, 0
    for images, labels in loader:
        with torch.no_grad():  # count with the weights before this batch's update
            total_correct += get_num_correct(network(images), labels)
        total_loss += training_step(network, optimizer, images, labels)
    return total_loss, total_correct
