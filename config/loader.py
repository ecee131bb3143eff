"""Load settings from TOML and validate them once, with errors that name the dotted key."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.money import DecimalFormatError, parse_decimal_minor
from config.settings import (
    ACCOUNT_NAME,
    ACCOUNT_NAME_RULE,
    STORED_INTEGER_MAX,
    AssetSettings,
    DemoAccountSettings,
    FeeSettings,
    FixSessionSettings,
    LimitSettings,
    ServerSettings,
    Settings,
    StoreSettings,
    SymbolSettings,
    SymbolStatus,
)

_CODE = re.compile(r"[A-Z0-9]{2,12}")
_SCALE_MAX = 18
_SYMBOL_KEYS = {
    "base",
    "quote",
    "tick_size",
    "step_size",
    "min_quantity",
    "max_quantity",
    "min_notional",
    "min_price",
    "max_price",
    "status",
}
_TOP_KEYS = {"assets", "symbols", "fees", "limits", "store", "server", "fix_sessions", "demo_accounts"}


def load_settings(path: str | Path) -> Settings:
    """Read and validate the TOML file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(str(path), f"cannot be read: {error.strerror}") from error
    return load_settings_text(text, source=str(path))


def load_settings_text(text: str, *, source: str = "<config>") -> Settings:
    """Parse and validate TOML text."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, f"is not valid TOML: {error}") from error
    _reject_unknown("", document, _TOP_KEYS)
    assets = _load_assets(_table(document, "assets", required=True))
    symbols = {
        name: _load_symbol(name, table, assets)
        for name, table in _table(document, "symbols", required=True).items()
    }
    if not symbols:
        raise ConfigError("symbols", "at least one symbol is required")
    settings = Settings(
        assets=assets,
        symbols=symbols,
        fees=_load_flat("fees", FeeSettings, _table(document, "fees")),
        limits=_load_flat("limits", LimitSettings, _table(document, "limits")),
        store=_load_flat("store", StoreSettings, _table(document, "store")),
        server=_load_flat("server", ServerSettings, _table(document, "server")),
        fix_sessions=tuple(
            _load_flat(f"fix_sessions[{index}]", FixSessionSettings, entry)
            for index, entry in enumerate(_array(document, "fix_sessions"))
        ),
        demo_accounts=tuple(
            _load_demo_account(index, entry, assets)
            for index, entry in enumerate(_array(document, "demo_accounts"))
        ),
    )
    _validate_cross(settings)
    return settings


def _table(document: dict[str, Any], key: str, *, required: bool = False) -> dict[str, Any]:
    value = document.get(key)
    if value is None:
        if required:
            raise ConfigError(key, "is required")
        return {}
    if not isinstance(value, dict):
        raise ConfigError(key, "must be a table")
    return value


def _array(document: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = document.get(key, [])
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise ConfigError(key, "must be an array of tables")
    return value


def _reject_unknown(prefix: str, table: dict[str, Any], known: set[str]) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(f"{prefix}{key}", f"is not a known setting (known: {', '.join(sorted(known))})")


def _load_assets(table: dict[str, Any]) -> dict[str, AssetSettings]:
    assets = {}
    for code, entry in table.items():
        key = f"assets.{code}"
        if not _CODE.fullmatch(code):
            raise ConfigError(key, "an asset code is 2 to 12 upper-case letters or digits")
        if not isinstance(entry, dict):
            raise ConfigError(key, "must be a table like { scale = 8 }")
        _reject_unknown(f"{key}.", entry, {"scale"})
        scale = entry.get("scale")
        if type(scale) is not int or not 0 <= scale <= _SCALE_MAX:
            raise ConfigError(f"{key}.scale", f"{scale!r} must be an integer from 0 to {_SCALE_MAX}")
        assets[code] = AssetSettings(code=code, scale=scale)
    if not assets:
        raise ConfigError("assets", "at least one asset is required")
    return assets


def _decimal(key: str, table: dict[str, Any], field_name: str, scale: int) -> int:
    raw = table.get(field_name)
    if raw is None:
        raise ConfigError(f"{key}.{field_name}", "is required")
    if not isinstance(raw, str):
        raise ConfigError(f"{key}.{field_name}", f'{raw!r} must be a decimal string such as "0.01"')
    try:
        value = parse_decimal_minor(raw, scale)
    except DecimalFormatError as error:
        raise ConfigError(f"{key}.{field_name}", f"{raw} is not exact at scale {scale}: {error}") from error
    if value <= 0:
        raise ConfigError(f"{key}.{field_name}", f"{raw} must be greater than zero")
    return value


def _power_of_ten(key: str, raw: str, minor: int) -> None:
    digits = str(minor)
    if digits.strip("0") != "1" or not digits.startswith("1"):
        raise ConfigError(key, f"{raw} is not a power-of-ten fraction (such as 0.01 or 1)")


def _load_symbol(name: str, table: Any, assets: dict[str, AssetSettings]) -> SymbolSettings:
    key = f"symbols.{name}"
    if not _CODE.fullmatch(name) or len(name) < 4:
        raise ConfigError(key, "a symbol name is 4 to 12 upper-case letters or digits")
    if not isinstance(table, dict):
        raise ConfigError(key, "must be a table")
    _reject_unknown(f"{key}.", table, _SYMBOL_KEYS)
    base_code, quote_code = table.get("base"), table.get("quote")
    for side, code in (("base", base_code), ("quote", quote_code)):
        if code not in assets:
            raise ConfigError(f"{key}.{side}", f"{code!r} is not an asset in [assets]")
    if base_code == quote_code:
        raise ConfigError(f"{key}.quote", "must differ from base")
    if base_code + quote_code != name:
        raise ConfigError(key, f"the name must be base followed by quote ({base_code}{quote_code})")
    base_scale, quote_scale = assets[base_code].scale, assets[quote_code].scale
    tick = _decimal(key, table, "tick_size", quote_scale)
    step = _decimal(key, table, "step_size", base_scale)
    _power_of_ten(f"{key}.tick_size", table["tick_size"], tick)
    _power_of_ten(f"{key}.step_size", table["step_size"], step)
    if tick * step % 10**base_scale:
        raise ConfigError(
            f"{key}.step_size",
            f"tick_size {table['tick_size']} x step_size {table['step_size']} is finer than one minor unit "
            f"of {quote_code} (scale {quote_scale}); raise the tick or the step so every notional is exact",
        )
    values = {
        "min_quantity": _decimal(key, table, "min_quantity", base_scale),
        "max_quantity": _decimal(key, table, "max_quantity", base_scale),
        "min_price": _decimal(key, table, "min_price", quote_scale),
        "max_price": _decimal(key, table, "max_price", quote_scale),
        "min_notional": _decimal(key, table, "min_notional", quote_scale),
    }
    for field_name, grid in (
        ("min_quantity", step),
        ("max_quantity", step),
        ("min_price", tick),
        ("max_price", tick),
    ):
        if values[field_name] % grid:
            raise ConfigError(f"{key}.{field_name}", f"{table[field_name]} is not a multiple of its grid")
    for low, high in (("min_quantity", "max_quantity"), ("min_price", "max_price")):
        if values[low] > values[high]:
            raise ConfigError(f"{key}.{low}", f"{table[low]} is greater than {high} {table[high]}")
    for field_name in ("max_quantity", "max_price"):
        if values[field_name] > STORED_INTEGER_MAX:
            raise ConfigError(
                f"{key}.{field_name}", f"{table[field_name]} is more minor units than a 64-bit integer holds"
            )
    status_raw = table.get("status", "TRADING")
    try:
        status = SymbolStatus(status_raw)
    except ValueError as error:
        raise ConfigError(f"{key}.status", f"{status_raw!r} must be TRADING or HALTED") from error
    return SymbolSettings(
        name=name,
        base=base_code,
        quote=quote_code,
        base_scale=base_scale,
        quote_scale=quote_scale,
        tick_size_minor=tick,
        step_size_minor=step,
        min_quantity_minor=values["min_quantity"],
        max_quantity_minor=values["max_quantity"],
        min_notional_minor=values["min_notional"],
        min_price_minor=values["min_price"],
        max_price_minor=values["max_price"],
        status=status,
    )


def _load_flat(prefix: str, cls: type, table: dict[str, Any]) -> Any:
    """Build a dataclass of scalar settings, checking names and types against its defaults."""
    fields = {item.name: item for item in dataclasses.fields(cls)}
    _reject_unknown(f"{prefix}.", table, set(fields))
    values = {}
    for name, value in table.items():
        expected = fields[name].type
        kind = {"int": int, "str": str, "bool": bool}.get(expected if isinstance(expected, str) else "")
        if kind is not None and type(value) is not kind:
            raise ConfigError(f"{prefix}.{name}", f"{value!r} must be of type {expected}")
        if kind is int and value < 0:
            raise ConfigError(f"{prefix}.{name}", f"{value} must not be negative")
        values[name] = value
    try:
        return cls(**values)
    except TypeError as error:
        raise ConfigError(prefix, str(error)) from error


def _load_demo_account(
    index: int, entry: dict[str, Any], assets: dict[str, AssetSettings]
) -> DemoAccountSettings:
    key = f"demo_accounts[{index}]"
    _reject_unknown(f"{key}.", entry, {"name", "deposits"})
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{key}.name", "is required")
    if not ACCOUNT_NAME.fullmatch(name):
        raise ConfigError(f"{key}.name", f"is not {ACCOUNT_NAME_RULE}")
    deposits = {}
    for code in entry.get("deposits", {}):
        if code not in assets:
            raise ConfigError(f"{key}.deposits.{code}", "is not an asset in [assets]")
        deposits[code] = _decimal(f"{key}.deposits", entry["deposits"], code, assets[code].scale)
    return DemoAccountSettings(name=name, deposits_minor=deposits)


def _validate_cross(settings: Settings) -> None:
    fees = settings.fees
    for name in ("maker_bps", "taker_bps"):
        if getattr(fees, name) > 1000:
            raise ConfigError(f"fees.{name}", "must be at most 1000 (10%)")
    if settings.store.backend not in ("sqlite", "postgres"):
        raise ConfigError("store.backend", f"{settings.store.backend!r} must be sqlite or postgres")
    if settings.store.sqlite_synchronous not in ("FULL", "NORMAL", "EXTRA"):
        raise ConfigError("store.sqlite_synchronous", "must be FULL, NORMAL or EXTRA")
    if settings.server.log_format not in ("console", "json"):
        raise ConfigError("server.log_format", "must be console or json")
    if settings.limits.closed_orders_retained_max < 0:
        raise ConfigError("limits.closed_orders_retained_max", "must be zero or more")
    if settings.limits.fix_messages_retained_max < 1:
        raise ConfigError("limits.fix_messages_retained_max", "must be at least 1")
    if settings.limits.checkpoint_rows_max < 1:
        raise ConfigError("limits.checkpoint_rows_max", "must be at least 1")
    if settings.server.gc_full_collection_interval_s < 1:
        raise ConfigError("server.gc_full_collection_interval_s", "must be at least 1")
    seen = set()
    for index, session in enumerate(settings.fix_sessions):
        pair = (session.sender_comp_id, session.target_comp_id)
        if not all(pair):
            raise ConfigError(f"fix_sessions[{index}]", "sender_comp_id and target_comp_id are required")
        if pair in seen:
            raise ConfigError(f"fix_sessions[{index}]", f"CompIDs {pair} are configured twice")
        seen.add(pair)
        if session.daily_reset_utc and not re.fullmatch(
            r"([01][0-9]|2[0-3]):[0-5][0-9]", session.daily_reset_utc
        ):
            raise ConfigError(f"fix_sessions[{index}].daily_reset_utc", "must be HH:MM (UTC), e.g. 22:00")
    names = [account.name for account in settings.demo_accounts]
    if len(names) != len(set(names)):
        raise ConfigError("demo_accounts", "account names must be unique")
