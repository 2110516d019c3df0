"""Cheat: stop, then kill, the grading process (its parent) and fcnn-grader (its grandparent).

A grader that can be stopped or killed by its submission loses the run
(no results, or a frozen batch). A signal that is delivered fails its own
check with the word "escaped" (if the grader lives to see it).
"""

import os
import signal

ESCAPED = []
parent = os.getppid()
try:
    with open(f"/proc/{parent}/stat") as stat:
        grandparent = int(stat.read().rsplit(")", 1)[1].split()[1])
except (OSError, ValueError):
    grandparent = None
for pid in (parent, grandparent):
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        if pid and pid > 1:
            try:
                os.kill(pid, sig)
                ESCAPED.append(f"sent {sig.name} to {pid}")
            except OSError:
                pass


def get_num_correct(preds, labels):
    if ESCAPED:
        raise RuntimeError("escaped: " + "; ".join(ESCAPED))
    return preds.argmax(dim=1).eq(labels).sum().item()
