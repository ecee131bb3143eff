"""The API's outgoing frames are the bytes ``websockets`` itself would write, at every length class."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from gateway.ws_outbox import text_frame


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
def test_text_frame_matches_websockets_serialize(length: int) -> None:
    payload = b'{"id":1}'.ljust(length, b" ")[:length]
    assert text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False)
