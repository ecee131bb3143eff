"""Rows in chunks: every row once, in order, within SQLite's parameter limit, few statement texts."""

from __future__ import annotations

from ledger.sqlite_store import _PARAMETERS_MAX, _insert


def test_chunks_cover_every_row_in_order_within_the_parameter_limit() -> None:
    statement = _insert("t", ("a", "b", "c"), ("a",))
    texts = set()
    for count in range(0, 1_200):
        rows = [(index, f"b{index}", None) for index in range(count)]
        flat: list = []
        for sql, parameters in statement.chunks(rows):
            assert len(parameters) <= _PARAMETERS_MAX
            assert sql.count("?") == len(parameters)
            assert sql.endswith("ON CONFLICT (a) DO UPDATE SET b = excluded.b, c = excluded.c")
            texts.add(sql)
            flat += parameters
        assert flat == [value for row in rows for value in row]
    assert len(texts) == 9
