"""Config loading: typed values in minor units, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, SymbolStatus, load_settings, load_settings_text

DEMO = Path(__file__).resolve().parents[3] / "config" / "demo.toml"

BASE = """
[assets]
BTC = { scale = 8 }
USDT = { scale = 8 }

[symbols.BTCUSDT]
base = "BTC"
quote = "USDT"
tick_size = "0.01"
step_size = "0.00001"
min_quantity = "0.00001"
max_quantity = "9000"
min_notional = "5"
min_price = "0.01"
max_price = "1000000"
"""


def _with(replacements: dict[str, str], extra: str = "") -> str:
    text = BASE
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new)
    return text + extra


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_settings_text(text)
    return caught.value


def test_demo_config_has_the_three_symbols_in_minor_units() -> None:
    settings = load_settings(DEMO)
    assert {"BTCUSDT", "ETHUSDT", "ETHBTC"} <= set(settings.symbols)
    btc = settings.symbols["BTCUSDT"]
    assert btc.tick_size_minor == 1_000_000
    assert btc.step_size_minor == 1_000
    assert btc.min_notional_minor == 500_000_000
    assert btc.status is SymbolStatus.TRADING
    assert settings.demo_accounts[0].deposits_minor["USDT"] == 1_000_000 * 10**8


def test_every_demo_notional_on_the_grid_is_exact() -> None:
    for symbol in load_settings(DEMO).symbols.values():
        assert symbol.tick_size_minor * symbol.step_size_minor % 10**symbol.base_scale == 0


def test_settings_are_frozen() -> None:
    settings = load_settings(DEMO)
    with pytest.raises(AttributeError):
        settings.symbols["BTCUSDT"].tick_size_minor = 1  # type: ignore[misc]


def test_tick_that_is_not_a_power_of_ten_names_the_key() -> None:
    error = _error(_with({'tick_size = "0.01"': 'tick_size = "0.003"'}))
    assert error.key == "symbols.BTCUSDT.tick_size"
    assert "0.003 is not a power-of-ten fraction" in str(error)


def test_tick_finer_than_the_quote_scale_is_refused() -> None:
    error = _error(_with({'tick_size = "0.01"': 'tick_size = "0.000000001"'}))
    assert error.key == "symbols.BTCUSDT.tick_size"


def test_inexact_notional_grid_is_refused() -> None:
    text = _with(
        {
            "USDT = { scale = 8 }": "USDT = { scale = 2 }",
            'step_size = "0.00001"': 'step_size = "0.001"',
            'min_quantity = "0.00001"': 'min_quantity = "0.001"',
        }
    )
    error = _error(text)
    assert error.key == "symbols.BTCUSDT.step_size"
    assert "finer than one minor unit of USDT" in str(error)


def test_unknown_key_is_named() -> None:
    error = _error(BASE + "\n[limits]\nqueue = 5\n")
    assert error.key == "limits.queue"


def test_wrong_type_is_named() -> None:
    error = _error(BASE + '\n[limits]\nbook_queue_max = "many"\n')
    assert error.key == "limits.book_queue_max"


def test_unknown_asset_in_symbol() -> None:
    error = _error(_with({'quote = "USDT"': 'quote = "EUR"'}))
    assert error.key == "symbols.BTCUSDT.quote"


def test_min_above_max_is_refused() -> None:
    error = _error(_with({'min_quantity = "0.00001"': 'min_quantity = "10000"'}))
    assert error.key == "symbols.BTCUSDT.min_quantity"


def test_a_demo_account_name_outside_the_account_name_rule_is_refused() -> None:
    error = _error(BASE + '[[demo_accounts]]\nname = "al ice"\n')
    assert error.key == "demo_accounts[0].name"
    assert "ASCII letters" in str(error)


def test_bad_status() -> None:
    error = _error(BASE + 'status = "OPEN"\n')
    assert error.key == "symbols.BTCUSDT.status"


def test_invalid_toml_names_the_source() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings_text("[assets", source="x.toml")
    assert caught.value.key == "x.toml"


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_settings(tmp_path / "absent.toml")


def test_duplicate_fix_session_comp_ids() -> None:
    session = '\n[[fix_sessions]]\nsender_comp_id = "A"\ntarget_comp_id = "GW"\naccount = "a"\n'
    error = _error(BASE + session + session)
    assert error.key == "fix_sessions[1]"


@pytest.mark.parametrize("reset", ["24:00", "7:00", "07:60", "0700", "07:00:00", "٠٧:٠٠"])
def test_a_daily_reset_that_is_not_hh_mm_names_the_key(reset: str) -> None:
    session = '\n[[fix_sessions]]\nsender_comp_id = "A"\ntarget_comp_id = "GW"\naccount = "a"\n'
    session += f'daily_reset_utc = "{reset}"\n'
    assert _error(BASE + session).key == "fix_sessions[0].daily_reset_utc"


def test_full_garbage_collection_needs_an_interval() -> None:
    error = _error(BASE + "\n[server]\ngc_full_collection_interval_s = 0\n")
    assert error.key == "server.gc_full_collection_interval_s"


def test_closed_orders_retained_cannot_be_negative() -> None:
    error = _error(BASE + "\n[limits]\nclosed_orders_retained_max = -1\n")
    assert error.key == "limits.closed_orders_retained_max"


def test_fix_messages_retained_needs_at_least_one() -> None:
    error = _error(BASE + "\n[limits]\nfix_messages_retained_max = 0\n")
    assert error.key == "limits.fix_messages_retained_max"


def test_a_checkpoint_writes_at_least_one_row() -> None:
    error = _error(BASE + "\n[limits]\ncheckpoint_rows_max = 0\n")
    assert error.key == "limits.checkpoint_rows_max"


@pytest.mark.parametrize(
    ("replacements", "key"),
    [
        ({'max_quantity = "9000"': 'max_quantity = "100000000000"'}, "symbols.BTCUSDT.max_quantity"),
        ({'max_price = "1000000"': 'max_price = "100000000000"'}, "symbols.BTCUSDT.max_price"),
    ],
)
def test_bounds_a_64_bit_integer_cannot_hold_are_refused(replacements: dict[str, str], key: str) -> None:
    """10**11 units at scale 8 is 10**19 minor units, above 2**63 - 1: no order could be stored."""
    assert _error(_with(replacements)).key == key
