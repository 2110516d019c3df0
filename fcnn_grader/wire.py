"""Messages between the grader and its child process: length-prefixed torch.save bytes.

The grader reads what the child sends with ``torch.load(weights_only=True)``,
which builds tensors, numbers, strings, lists and dicts and nothing else: a
submission that takes over its child cannot make the grader run code by
sending it a crafted pickle.
"""

from __future__ import annotations

import io
import os
import select
import struct
import time

HEADER = struct.Struct("<Q")
MAX_MESSAGE = 1 << 31  # 2 GiB: far above any real answer (a full epoch's logits is 2.4 MB)


class WireClosed(Exception):
    """The other end closed the pipe (the child died)."""


class WireTimeout(Exception):
    """No complete message before the deadline."""


class WireError(Exception):
    """A message that is not what the protocol allows."""


def plain(value, depth: int = 0):
    """Only what weights_only loading accepts; anything else becomes its repr."""
    import torch

    if depth > 20:
        return "<too deep>"
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu")
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k if isinstance(k, (str, int)) else repr(k): plain(v, depth + 1) for k, v in value.items()}
    try:
        return repr(value)[:200]
    except Exception:
        return f"<{type(value).__name__}>"


def send(fd: int, message) -> None:
    import torch  # here, not above: the grader may start a child before it needs torch

    buffer = io.BytesIO()
    torch.save(plain(message), buffer)
    data = buffer.getvalue()
    view = memoryview(HEADER.pack(len(data)) + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exactly(fd: int, size: int, deadline: float | None, tick) -> bytes:
    chunks, remaining = [], size
    while remaining:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        if wait is not None and wait == 0.0:
            raise WireTimeout()
        ready, _, _ = select.select([fd], [], [], 0.1 if wait is None else min(wait, 0.1))
        if not ready:
            if tick is not None:
                tick()
            continue
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise WireClosed()
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def receive(fd: int, timeout: float | None = None, tick=None):
    """The next message, or WireClosed / WireTimeout / WireError. ``tick`` runs while waiting."""
    deadline = None if timeout is None else time.monotonic() + timeout
    (size,) = HEADER.unpack(_read_exactly(fd, HEADER.size, deadline, tick))
    if size > MAX_MESSAGE:
        raise WireError(f"a message of {size} bytes")
    data = _read_exactly(fd, size, deadline, tick)
    import torch

    try:
        return torch.load(io.BytesIO(data), weights_only=True)
    except Exception as exc:  # whatever a crafted pickle makes the safe loader say
        raise WireError(f"an unreadable message ({type(exc).__name__})") from None
