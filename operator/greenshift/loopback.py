"""A free TCP port on loopback, for the processes the project starts for itself (the test control
plane, the demo's Prometheus, the benchmark's operator)."""

import socket


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
