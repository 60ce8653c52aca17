"""A loopback port for a server a test starts (the kernel picks one that is free now)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on (closed again, so a test can also use it as a dead address)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
