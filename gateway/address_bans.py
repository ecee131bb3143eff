"""Automatic bans of addresses that keep going past the request-weight limit (Binance's 418).

Binance bans an address that fails to back off after 429s: for 2 minutes at first, longer for repeat
offenders, up to 3 days. Its API requests then fail with 418 and ``retryAfter``, when the ban ends. An
offence is remembered for a day after its ban ends, and the table keeps at most ``addresses_max``
addresses (the oldest offence goes first), so the addresses a flood comes from cost bounded memory.
"""

from __future__ import annotations

BAN_FIRST_MS = 120_000
BAN_MAX_MS = 3 * 86_400_000
OFFENCES_REMEMBERED_MS = 86_400_000
ADDRESSES_MAX = 100_000
_DOUBLINGS_MAX = (BAN_MAX_MS // BAN_FIRST_MS).bit_length()  # past these, every ban is BAN_MAX_MS


class AddressBans:
    """Per address: how many bans in a row, and until when the latest lasts (epoch ms)."""

    def __init__(self, addresses_max: int = ADDRESSES_MAX) -> None:
        self._addresses_max = addresses_max
        self._bans: dict[str, tuple[int, int]] = {}  # address -> (offences, banned until ms)

    def ban(self, address: str, now_ms: float) -> int:
        """Ban ``address`` from now, for twice as long as its last ban if that ended within a day;
        return when the ban ends."""
        offences, until_ms = self._bans.pop(address, (0, 0))
        if now_ms - until_ms > OFFENCES_REMEMBERED_MS:
            offences = 0
        offences += 1
        duration_ms = min(BAN_FIRST_MS << min(offences - 1, _DOUBLINGS_MAX), BAN_MAX_MS)
        until_ms = int(now_ms) + duration_ms
        self._bans[address] = (offences, until_ms)
        while len(self._bans) > self._addresses_max:
            del self._bans[next(iter(self._bans))]
        return until_ms

    def banned_until(self, address: str, now_ms: float) -> int | None:
        """When the ban of ``address`` ends, or None if it is not banned now."""
        _, until_ms = self._bans.get(address, (0, 0))
        return until_ms if until_ms > now_ms else None
