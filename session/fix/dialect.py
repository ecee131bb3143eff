"""Which fields beyond FIX 4.4 a session's messages carry.

A standard engine checks each message against the FIX 4.4 dictionary and, with QuickFIX's defaults,
rejects one carrying a tag the dictionary does not define for its type: a fill with Binance's
AggressorIndicator (1057) never reached the client's application. So FIX 4.4 sessions get FIX 4.4
fields only, and Binance's extensions go to sessions of Binance's dialect (an Ed25519-signed Logon).
"""

from __future__ import annotations

import enum


class FixDialect(enum.Enum):
    FIX44 = "FIX44"
    BINANCE = "BINANCE"
