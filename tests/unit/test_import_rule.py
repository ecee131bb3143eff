"""DESIGN.md's import rule: gateway -> session | ledger -> book -> config, protocol libraries at the edge."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "book", "ledger", "session", "gateway")

ALLOWED_PACKAGES = {
    "config": set(),
    "book": {"config"},
    "ledger": {"config", "book"},
    "session": {"config", "book"},
    "gateway": {"config", "book", "ledger", "session"},
}
# Third-party and stdlib modules confined to one place.
CONFINED = {
    "simplefix": ("session",),
    "orjson": ("session",),
    "websockets": ("gateway",),
    "uvloop": ("gateway",),
    "aiosqlite": ("ledger",),
    "asyncpg": ("ledger",),
}
BOOK_FORBIDDEN = {"asyncio", "socket", "selectors", "threading", "subprocess", "sqlite3", "os", "io", "time"}
STDLIB = set(sys.stdlib_module_names) | {"__future__"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", PACKAGES)
def test_packages_import_only_what_the_rule_allows(package: str) -> None:
    for path in _modules(package):
        for name in _imports(path) & set(PACKAGES):
            if name != package:
                assert name in ALLOWED_PACKAGES[package], f"{path.relative_to(ROOT)} imports {name}"


def test_protocol_and_store_libraries_stay_at_their_edge() -> None:
    for package in PACKAGES:
        for path in _modules(package):
            for name in _imports(path) & set(CONFINED):
                assert package in CONFINED[name], f"{path.relative_to(ROOT)} imports {name}"


def test_ledger_database_drivers_only_in_store_modules() -> None:
    for path in _modules("ledger"):
        if _imports(path) & {"aiosqlite", "asyncpg"}:
            assert "store" in path.stem or path.parent.name == "stores", path


def test_book_is_pure() -> None:
    allowed = (STDLIB - BOOK_FORBIDDEN) | {"book", "config", "sortedcontainers"}
    for path in _modules("book"):
        found = _imports(path) - allowed
        assert not found, f"{path.relative_to(ROOT)} imports {found}"


def test_config_uses_stdlib_only() -> None:
    for path in _modules("config"):
        found = _imports(path) - STDLIB - {"config"}
        assert not found, f"{path.relative_to(ROOT)} imports {found}"


def test_rule_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import asyncio\nfrom gateway.server import x\n", encoding="utf-8")
    assert {"asyncio", "gateway"} <= _imports(bad)
