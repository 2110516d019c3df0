"""Cheat: change the installed grader, so that later checks (or the next submission) are judged by its code.

It finds the grader's package on sys.path, tries to add a module to it and to
open one of its files for writing (it writes the same bytes back: a sandbox
that failed changes only the file's time). Any success fails its own check
with the word "escaped", so a test sees it.
"""

import os
import sys

ESCAPED = []
for entry in sys.path:
    package = os.path.join(entry or ".", "fcnn_grader")
    if not os.path.isfile(os.path.join(package, "oracle.py")):
        continue
    try:
        with open(os.path.join(package, "checks", "zz_planted.py"), "w") as out:
            out.write("# planted by a submission\n")
        ESCAPED.append("created a module in the grader")
    except OSError:
        pass
    try:
        with open(os.path.join(package, "oracle.py"), "r+b") as file:
            text = file.read()
            file.seek(0)
            file.write(text)
        ESCAPED.append("opened the grader's oracle.py for writing")
    except OSError:
        pass


def get_num_correct(preds, labels):
    if ESCAPED:
        raise RuntimeError("escaped: " + "; ".join(ESCAPED))
    return preds.argmax(dim=1).eq(labels).sum().item()
