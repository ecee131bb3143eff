"""Connection bounds per address, on a fixed clock."""

from __future__ import annotations

from gateway.connection_limits import ConnectionAttempts


def test_attempts_are_counted_per_address_in_fixed_windows() -> None:
    now_s = [1_000.0]
    attempts = ConnectionAttempts(2, 300, clock=lambda: now_s[0])
    assert [attempts.refusal_s("a") for _ in range(3)] == [None, None, 200]
    assert attempts.refusal_s("b") is None
    now_s[0] = 1_199.5
    assert attempts.refusal_s("a") == 1
    now_s[0] = 1_200.0
    assert attempts.refusal_s("a") is None
