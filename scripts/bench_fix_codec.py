"""FIX codec benchmark: parse and encode per second for a typical 200-byte NewOrderSingle, ours vs simplefix.

.venv/bin/python scripts/bench_fix_codec.py [--messages 200000]
"""

from __future__ import annotations

import argparse
import sys
import time

import simplefix

from session.fix.codec import FixParser, encode

FIELDS = [
    (35, "D"),
    (49, "CLIENT1"),
    (56, "GATEWAY"),
    (34, "1234"),
    (52, "20261124-14:55:00.123"),
    (11, "order-000001234"),
    (55, "BTCUSDT"),
    (54, "1"),
    (60, "20261124-14:55:00.123"),
    (38, "0.01000000"),
    (40, "2"),
    (44, "50000.00000000"),
    (59, "1"),
    (1, "ACCOUNT-ALICE"),
    (18, "6"),
    (25001, "3"),
]


def rate(count: int, started: float) -> float:
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    count = parser.parse_args().messages
    frame = encode("FIX.4.4", FIELDS)
    batch = frame * 100
    ours = FixParser(message_bytes_max=65536, buffer_bytes_max=1 << 20)
    started = time.perf_counter()
    for _ in range(count // 100):
        ours.feed(batch)
    parse_ours = rate(count // 100 * 100, started)
    started = time.perf_counter()
    for _ in range(count):
        encode("FIX.4.4", FIELDS)
    encode_ours = rate(count, started)

    reference_count = count // 10
    reference = simplefix.FixParser()
    started = time.perf_counter()
    for _ in range(reference_count):
        reference.append_buffer(frame)
        reference.get_message()
    parse_reference = rate(reference_count, started)
    started = time.perf_counter()
    for _ in range(reference_count):
        message = simplefix.FixMessage()
        message.append_pair(8, "FIX.4.4")
        for tag, value in FIELDS:
            message.append_pair(tag, value)
        message.encode()
    encode_reference = rate(reference_count, started)
    print(f"command: {' '.join(sys.argv)}")
    print(f"message: {len(frame)} bytes NewOrderSingle, {len(FIELDS) + 3} fields")
    print(f"ours      parse {parse_ours:,.0f} msg/s   encode {encode_ours:,.0f} msg/s")
    print(f"simplefix parse {parse_reference:,.0f} msg/s   encode {encode_reference:,.0f} msg/s")


if __name__ == "__main__":
    main()
