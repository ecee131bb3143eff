"""The kernel's floor under market-data fan-out: what one write to each of N loopback TCP sockets costs.

No gateway and no WebSocket code: a parent process holds ``--connections`` accepted sockets and, every
``--interval-ms``, writes ``--bytes`` to each (non-blocking ``send``, TCP_NODELAY as the gateway's
transports have it); a child process reads them all. It prints the writer's user and system CPU per
write and the share of one core the writes take. The gateway's fan-out does one such write per
subscriber per flush, so this share is the least the fan-out can cost a book at that rate, whatever
the Python above it does.

    python3 scripts/bench_fanout_floor.py [--connections 1000] [--bytes 8300] [--interval-ms 30] [--seconds 8]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import selectors
import socket
import sys
import time

READ_BYTES = 1 << 20
DRAIN_S = 3.0  # how long the reader keeps reading after the writer's last write


def read_all(port: int, connections: int, seconds: float) -> None:
    """Child process: connect ``connections`` sockets and read whatever arrives until the run ends."""
    selector = selectors.DefaultSelector()
    for _ in range(connections):
        client = socket.create_connection(("127.0.0.1", port))
        client.setblocking(False)
        selector.register(client, selectors.EVENT_READ)
    deadline = time.monotonic() + seconds + DRAIN_S
    while time.monotonic() < deadline:
        for key, _ in selector.select(0.5):
            with contextlib.suppress(BlockingIOError):
                key.fileobj.recv(READ_BYTES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--bytes", type=int, default=8300, help="bytes per write (a 30 ms window of trades)")
    parser.add_argument("--interval-ms", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    arguments = parser.parse_args()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(arguments.connections)
    port = listener.getsockname()[1]
    child = os.fork()
    if child == 0:
        read_all(port, arguments.connections, arguments.seconds)
        os._exit(0)
    accepted = []
    for _ in range(arguments.connections):
        connection, _ = listener.accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.setblocking(False)
        accepted.append(connection)
    data, interval_s, writes = b"x" * arguments.bytes, arguments.interval_ms / 1000, 0
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    while time.monotonic() - started < arguments.seconds:
        round_started = time.monotonic()
        for connection in accepted:
            connection.send(data)
            writes += 1
        time.sleep(max(0.0, interval_s - (time.monotonic() - round_started)))
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    user_s, system_s = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    os.waitpid(child, 0)
    print(f"command: {' '.join(sys.argv)}")
    print(
        f"{writes:,} writes of {arguments.bytes:,} bytes to {arguments.connections:,} loopback sockets "
        f"({writes / elapsed:,.0f}/s): user {user_s / writes * 1e6:.2f} us + system "
        f"{system_s / writes * 1e6:.2f} us per write = {(user_s + system_s) / elapsed:.0%} of one core"
    )


if __name__ == "__main__":
    main()
