"""Binance's automatic IP bans: 2 minutes at first, longer for repeat offenders, at most 3 days."""

from __future__ import annotations

from gateway.address_bans import BAN_FIRST_MS, BAN_MAX_MS, OFFENCES_REMEMBERED_MS, AddressBans

MINUTE_MS = 60_000


def test_a_ban_lasts_two_minutes_then_ends() -> None:
    bans = AddressBans()
    assert bans.banned_until("10.0.0.1", 0) is None
    assert bans.ban("10.0.0.1", 1_000) == 1_000 + 2 * MINUTE_MS
    assert bans.banned_until("10.0.0.1", 1_000 + 2 * MINUTE_MS - 1) == 1_000 + 2 * MINUTE_MS
    assert bans.banned_until("10.0.0.1", 1_000 + 2 * MINUTE_MS) is None
    assert bans.banned_until("10.0.0.2", 1_000) is None


def test_repeat_offenders_are_banned_for_longer_up_to_three_days() -> None:
    bans, now_ms, durations = AddressBans(), 0, []
    for _ in range(20):
        until = bans.ban("10.0.0.1", now_ms)
        durations.append(until - now_ms)
        now_ms = until
    assert durations[:4] == [BAN_FIRST_MS, 2 * BAN_FIRST_MS, 4 * BAN_FIRST_MS, 8 * BAN_FIRST_MS]
    assert max(durations) == durations[-1] == BAN_MAX_MS == 3 * 86_400_000


def test_an_offence_is_forgotten_a_day_after_its_ban() -> None:
    bans = AddressBans()
    until = bans.ban("10.0.0.1", 0)
    assert bans.ban("10.0.0.1", until + OFFENCES_REMEMBERED_MS + 1) - until - OFFENCES_REMEMBERED_MS - 1 == (
        BAN_FIRST_MS
    )


def test_the_table_is_bounded_and_forgets_the_oldest_first() -> None:
    bans = AddressBans(addresses_max=3)
    for index in range(5):
        bans.ban(f"10.0.0.{index}", 0)
    assert [bans.banned_until(f"10.0.0.{index}", 1) is not None for index in range(5)] == [
        False,
        False,
        True,
        True,
        True,
    ]
