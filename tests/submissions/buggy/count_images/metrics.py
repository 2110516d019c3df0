"""Buggy: counts the images, not the correct predictions."""


def get_num_correct(preds, labels):
    return preds.argmax(dim=1).eq(preds.argmax(dim=1)).sum().item()
