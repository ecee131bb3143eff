"""User data event frames: a payload encoded once and wrapped per subscription is Binance's envelope."""

from __future__ import annotations

import orjson
import pytest

from session.binance import envelope


@pytest.mark.parametrize("subscription_id", [0, 7, 2**31])
def test_an_event_wrapped_around_its_encoded_payload_is_the_envelope_with_that_event(
    subscription_id: int,
) -> None:
    payload = {"e": "executionReport", "E": 1_700_000_000_000, "s": "BTCUSDT", "p": "1.00000000", "L": "ü"}
    framed = envelope.event_encoded(subscription_id, envelope.payload(payload))
    assert orjson.loads(framed) == {"subscriptionId": subscription_id, "event": payload}
    assert framed == orjson.dumps({"subscriptionId": subscription_id, "event": payload})
