"""Buggy: numpy on a tensor that requires grad."""


def get_num_correct(preds, labels):
    return int((preds.numpy().argmax(axis=1) == labels.numpy()).sum())
