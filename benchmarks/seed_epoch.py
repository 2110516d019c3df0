"""The seed's own training: DataLoader + ToTensor, batch 100, Adam lr=0.01, one epoch.

The course's code (its Network without the shape prints), timed as a student
runs it. Prints one line of JSON: the time of the epoch loop, and the time
from the start of the interpreter to the end of the epoch.
Run: python benchmarks/seed_epoch.py DATA_ROOT
"""

import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torchvision
import torchvision.transforms as transforms

torch.set_grad_enabled(True)


class Network(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5)
        self.conv2 = nn.Conv2d(in_channels=6, out_channels=12, kernel_size=5)
        self.fc1 = nn.Linear(in_features=12 * 4 * 4, out_features=120)
        self.fc2 = nn.Linear(in_features=120, out_features=60)
        self.out = nn.Linear(in_features=60, out_features=10)

    def forward(self, t):
        t = F.max_pool2d(F.relu(self.conv1(t)), kernel_size=2, stride=2)
        t = F.max_pool2d(F.relu(self.conv2(t)), kernel_size=2, stride=2)
        t = t.reshape(-1, 12 * 4 * 4)
        t = F.relu(self.fc1(t))
        t = F.relu(self.fc2(t))
        return self.out(t)


def get_num_correct(preds, labels):
    return preds.argmax(dim=1).eq(labels).sum().item()


train_set = torchvision.datasets.FashionMNIST(
    root=sys.argv[1], train=True, download=False, transform=transforms.Compose([transforms.ToTensor()])
)
network = Network()
train_loader = torch.utils.data.DataLoader(train_set, batch_size=100)
optimizer = optim.Adam(network.parameters(), lr=0.01)

start = time.perf_counter()
total_loss = 0
total_correct = 0
for batch in train_loader:
    images, labels = batch
    preds = network(images)
    loss = F.cross_entropy(preds, labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    total_loss += loss.item()
    total_correct += get_num_correct(preds, labels)
loop = time.perf_counter() - start
print(json.dumps({"loop_s": loop, "total_correct": total_correct, "total_loss": total_loss}))
