"""Fault: reads address 0."""


import ctypes


def get_num_correct(preds, labels):
    ctypes.string_at(0)
    return preds.argmax(dim=1).eq(labels).sum().item()
