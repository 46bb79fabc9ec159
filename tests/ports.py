"""Free loopback ports for the servers the tests start (there is a race between asking and
binding, which no test here loses: the suite runs one test at a time)."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_temporal_port() -> int:
    """A free port whose +1000 (where `complaints run` puts the Web UI) is free too."""
    while True:
        port = free_port()
        if port + 1000 > 65535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 1000))
            except OSError:
                continue
        return port
