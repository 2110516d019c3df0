"""Cheat: send what it knows over TCP (to the port in port.txt, which a test listens on at 127.0.0.1).

A connection that opens fails its own check with the word "escaped".
"""

import socket

ESCAPED = []
try:
    with open("port.txt") as file:
        port = int(file.read())
    with socket.create_connection(("127.0.0.1", port), timeout=3) as conn:
        conn.sendall(b"leaked")
    ESCAPED.append(f"connected to 127.0.0.1:{port}")
except (OSError, ValueError):
    pass


def get_num_correct(preds, labels):
    if ESCAPED:
        raise RuntimeError("escaped: " + "; ".join(ESCAPED))
    return preds.argmax(dim=1).eq(labels).sum().item()
