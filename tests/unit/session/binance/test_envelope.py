"""User data event frames: a payload encoded once and wrapped per subscription is the same frame."""

from __future__ import annotations

import orjson
import pytest

from session.binance import envelope


@pytest.mark.parametrize("subscription_id", [0, 7, 2**31])
def test_an_event_wrapped_around_its_encoded_payload_is_the_event_encoded_whole(subscription_id: int) -> None:
    payload = {"e": "executionReport", "E": 1_700_000_000_000, "s": "BTCUSDT", "p": "1.00000000", "L": "ü"}
    framed = envelope.event_encoded(subscription_id, envelope.payload(payload))
    assert framed == envelope.event(subscription_id, payload)
    assert orjson.loads(framed) == {"subscriptionId": subscription_id, "event": payload}
