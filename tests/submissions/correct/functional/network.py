"""Correct variant: bare nn.Parameters and F.conv2d / F.linear, no layer modules."""

import torch
import torch.nn as nn
import torch.nn.functional as F


def _param(*shape):
    return nn.Parameter(torch.randn(*shape) * 0.1)


class Network(nn.Module):
    def __init__(self):
        super().__init__()
        self.w1, self.b1 = _param(6, 1, 5, 5), _param(6)
        self.w2, self.b2 = _param(12, 6, 5, 5), _param(12)
        self.w3, self.b3 = _param(120, 192), _param(120)
        self.w4, self.b4 = _param(60, 120), _param(60)
        self.w5, self.b5 = _param(10, 60), _param(10)

    def forward(self, t):
        t = F.max_pool2d(F.relu(F.conv2d(t, self.w1, self.b1)), 2, 2)
        t = F.max_pool2d(F.relu(F.conv2d(t, self.w2, self.b2)), 2, 2)
        t = t.flatten(start_dim=1)
        t = F.relu(F.linear(t, self.w3, self.b3))
        t = F.relu(F.linear(t, self.w4, self.b4))
        return F.linear(t, self.w5, self.b5)
