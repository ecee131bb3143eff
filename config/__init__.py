"""Typed, validated settings of the gateway: assets, symbols, fees, limits, store and listeners."""

from __future__ import annotations

from config.errors import ConfigError
from config.loader import load_settings, load_settings_text
from config.money import format_minor, parse_decimal_minor
from config.settings import (
    AssetSettings,
    FeeSettings,
    LimitSettings,
    ServerSettings,
    Settings,
    StoreSettings,
    SymbolSettings,
    SymbolStatus,
)

__all__ = [
    "AssetSettings",
    "ConfigError",
    "FeeSettings",
    "LimitSettings",
    "ServerSettings",
    "Settings",
    "StoreSettings",
    "SymbolSettings",
    "SymbolStatus",
    "format_minor",
    "load_settings",
    "load_settings_text",
    "parse_decimal_minor",
]
