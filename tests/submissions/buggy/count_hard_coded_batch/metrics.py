"""Buggy: the batch size written into the count."""


def get_num_correct(preds, labels):
    return preds.argmax(dim=1).view(100).eq(labels).sum().item()
