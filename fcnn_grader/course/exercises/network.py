"""Exercise `network`: build the seed's CNN.

Check it with:  pytest --exercise=network

Layers (in_channels/in_features -> out):
    conv1: Conv2d 1 -> 6, kernel_size=5       then relu, max-pool 2x2 (stride 2)
    conv2: Conv2d 6 -> 12, kernel_size=5      then relu, max-pool 2x2 (stride 2)
    flatten to 12*4*4 = 192 numbers per image
    fc1: Linear 192 -> 120, relu
    fc2: Linear 120 -> 60, relu
    out: Linear 60 -> 10                      no activation: return raw logits

forward(t) takes images of shape (N, 1, 28, 28) and returns logits (N, 10).
"""

import torch.nn as nn
import torch.nn.functional as F  # noqa: F401  (you will need it in forward)


class Network(nn.Module):
    def __init__(self):
        super().__init__()
        # TODO: define self.conv1, self.conv2, self.fc1, self.fc2 and self.out,
        # then delete the next line.
        raise NotImplementedError

    def forward(self, t):
        # TODO: conv1 -> relu -> max-pool -> conv2 -> relu -> max-pool -> flatten
        #       -> fc1 -> relu -> fc2 -> relu -> out
        raise NotImplementedError
