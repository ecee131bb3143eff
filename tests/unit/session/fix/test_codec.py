"""Framing: verified BodyLength and CheckSum, resynchronisation, raw data, bounds; simplefix as reference."""

from __future__ import annotations

import re

import pytest
import simplefix
from hypothesis import given, settings
from hypothesis import strategies as st

from session.fix.codec import FixMessage, FixParser, FrameTooLarge, Garbled, checksum, encode

LOGON = [
    (35, "A"),
    (49, "ALICE"),
    (56, "GATEWAY"),
    (34, "1"),
    (52, "20261124-10:00:00.000"),
    (98, "0"),
    (108, "30"),
]


def parser(**bounds: int) -> FixParser:
    return FixParser(
        message_bytes_max=bounds.get("message", 4096), buffer_bytes_max=bounds.get("buffer", 65536)
    )


def messages(items) -> list[FixMessage]:
    return [item for item in items if isinstance(item, FixMessage)]


def test_a_frame_parses_in_one_piece_or_byte_by_byte() -> None:
    frame = encode("FIX.4.4", LOGON)
    (whole,) = parser().feed(frame)
    assert whole.msg_type == "A" and whole.get(108) == "30" and whole.raw == frame
    assert whole.fields[0] == (8, "FIX.4.4") and whole.fields[-1][0] == 10
    split = parser()
    pieces = [split.feed(frame[i : i + 1]) for i in range(len(frame))]
    assert [len(piece) for piece in pieces] == [0] * (len(frame) - 1) + [1]


def test_encoding_matches_simplefix() -> None:
    reference = simplefix.FixMessage()
    reference.append_pair(8, "FIX.4.4")
    for tag, value in LOGON:
        reference.append_pair(tag, value)
    assert encode("FIX.4.4", LOGON) == reference.encode()


@pytest.mark.parametrize(
    ("corrupt", "reason"),
    [
        (lambda f: f.replace(b"10=", b"10=9", 1)[:-1], "CheckSum"),
        (lambda f: f[:-4] + b"000\x01", "CheckSum"),
        (
            lambda f: re.sub(rb"\x019=(\d+)", lambda m: b"\x019=%d" % (int(m[1]) - 3), f, count=1),
            "BodyLength",
        ),
        (lambda f: f.replace(b"\x0135=A", b"\x0134=A", 1), "MsgType"),
        (lambda f: f.replace(b"9=", b"X=", 1), "BodyLength"),
    ],
)
def test_garbled_frames_are_skipped_and_the_next_frame_still_parses(corrupt, reason: str) -> None:
    good = encode("FIX.4.4", LOGON)
    items = parser().feed(corrupt(good) + good)
    assert any(isinstance(item, Garbled) and reason in item.reason for item in items), items
    assert [m.raw for m in messages(items)] == [good]


@pytest.mark.parametrize(
    "bad_field",
    [b"49ALICE", b"", b"4x=ALICE", b"=ALICE", b"\xb2=ALICE"],
    ids=["no equals sign", "empty field", "letter in tag", "no tag", "superscript two"],
)
def test_a_field_that_is_not_tag_equals_value_garbles_the_frame(bad_field: bytes) -> None:
    body = (
        b"35=A\x01" + bad_field + b"\x0156=GATEWAY\x0134=1\x0152=20261124-10:00:00.000\x0198=0\x01108=30\x01"
    )
    head = b"8=FIX.4.4\x019=%d\x01" % len(body)
    frame = head + body + b"10=%03d\x01" % checksum(head + body)
    good = encode("FIX.4.4", LOGON)
    items = parser().feed(frame + good)
    assert any(isinstance(item, Garbled) and "tag=value" in item.reason for item in items), items
    assert [m.raw for m in messages(items)] == [good]


def test_noise_before_a_frame_is_reported_and_skipped() -> None:
    good = encode("FIX.4.4", LOGON)
    items = parser().feed(b"garbage\x01more" + good)
    assert isinstance(items[0], Garbled) and messages(items)[0].raw == good


@pytest.mark.parametrize(("length_tag", "data_tag"), [(95, 96), (90, 91), (212, 213)])
def test_raw_data_may_contain_soh(length_tag: int, data_tag: int) -> None:
    signature = "ab\x01cd=\x01"
    fields = [*LOGON[:-1], (length_tag, str(len(signature))), (data_tag, signature), (108, "30")]
    (message,) = parser().feed(encode("FIX.4.4", fields))
    assert message.get(data_tag) == signature and message.get(108) == "30"
    assert message.fields[-4:-1] == fields[-3:]


def test_bounds_are_enforced() -> None:
    big = encode("FIX.4.4", [*LOGON, (58, "x" * 5000)])
    assert isinstance(parser(message=4096).feed(big)[0], Garbled)
    with pytest.raises(FrameTooLarge):
        parser(buffer=1024).feed(b"8=FIX.4.4\x019=5000\x01" + b"x" * 2000)


tag_values = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="="),
    min_size=1,
    max_size=20,
)
_SIMPLEFIX = simplefix.FixParser()
RAW_TAGS = {*_SIMPLEFIX.raw_len_tags, *_SIMPLEFIX.raw_data_tags, 90, 91, 95, 96, 212, 213}
body_fields = st.lists(
    st.tuples(st.integers(11, 9999).filter(lambda t: t not in RAW_TAGS), tag_values), max_size=15
)


@settings(max_examples=300, deadline=None)
@given(body_fields, st.integers(1, 3))
def test_random_messages_parse_like_simplefix(fields: list[tuple[int, str]], chunk: int) -> None:
    frame = encode("FIX.4.4", [(35, "D"), *fields])
    ours = parser()
    parsed = []
    for start in range(0, len(frame), chunk):
        parsed += ours.feed(frame[start : start + chunk])
    reference = simplefix.FixParser()
    reference.append_buffer(frame)
    expected = reference.get_message()
    (message,) = parsed
    assert [(tag, value.encode()) for tag, value in message.fields] == [
        (int(t), v) for t, v in expected.pairs
    ]


@settings(max_examples=300, deadline=None)
@given(body_fields, st.integers(0, 300), st.integers(0, 255))
def test_any_single_byte_corruption_never_yields_a_wrong_message(fields, position: int, byte: int) -> None:
    frame = encode("FIX.4.4", [(35, "D"), *fields])
    position %= len(frame)
    corrupted = frame[:position] + bytes([byte]) + frame[position + 1 :]
    good = encode("FIX.4.4", LOGON)
    # A corrupted BodyLength may claim up to the 4096-byte bound: enough good frames follow to cover it.
    following = good * (4096 // len(good) + 2)
    parsed = messages(parser(message=4096, buffer=1 << 20).feed(corrupted + following))
    assert parsed[-1].raw == good
    assert all(m.raw in (frame, good) for m in parsed)


@given(st.binary(max_size=2000))
def test_checksum_is_the_byte_sum_modulo_256(data: bytes) -> None:
    assert checksum(data) == sum(data) % 256


@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 512, 513, 65_536])
def test_checksum_of_the_largest_bytes_at_piece_edges(size: int) -> None:
    data = b"\xff" * size
    assert checksum(data) == sum(data) % 256


def test_values_with_equals_signs_and_tags_past_the_table_round_trip() -> None:
    fields = [*LOGON, (58, "a=b=c"), (25000, "5000"), (554, "=")]
    frame = encode("FIX.4.4", fields)
    assert b"\x0125000=5000\x01" in frame
    (message,) = parser().feed(frame)
    assert message.fields[2:-1] == fields
