"""docs/api.md, "Platform configuration": one row per key of ``PlatformConfig`` (``config.py``),
with its default and, where it differs, its default under ``platform: openshift``."""

from dataclasses import fields, is_dataclass
from typing import Any

from docs_support import CODE, DOCS, code_value, section, table_rows

from greenshift.config import PlatformConfig, platform_defaults


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a configuration, by dotted key; tuples as lists (YAML's)."""
    if is_dataclass(value):
        out: dict[str, Any] = {}
        for f in fields(value):
            out |= flatten(getattr(value, f.name), f"{prefix}{f.name}.")
        return out
    if isinstance(value, dict) and value and all(is_dataclass(v) for v in value.values()):
        return {k: v for name, item in value.items() for k, v in flatten(item, f"{prefix}{name}.").items()}
    return {prefix.rstrip("."): list(value) if isinstance(value, tuple) else value}


def platform_rows() -> dict[str, list[str]]:
    rows = table_rows(section(DOCS / "api.md", "## Platform configuration"))
    keys = [CODE.fullmatch(row[0]).group(1) for row in rows]  # type: ignore[union-attr]
    assert len(keys) == len(set(keys)), "a key documented twice"
    return dict(zip(keys, rows, strict=True))


def test_every_platform_key_is_documented_and_nothing_else() -> None:
    assert set(platform_rows()) == set(flatten(PlatformConfig()))


def test_platform_defaults_are_the_codes() -> None:
    kubernetes = flatten(platform_defaults("kubernetes"))
    openshift = flatten(platform_defaults("openshift"))
    for key, row in platform_rows().items():
        assert code_value(row[1]) == kubernetes[key], key
        if row[2]:
            assert code_value(row[2]) == openshift[key], key
            assert openshift[key] != kubernetes[key], f"{key}: the openshift column repeats the default"
        elif key != "platform":
            assert openshift[key] == kubernetes[key], f"{key}: differs on openshift, not documented"


def test_every_key_says_what_it_is_for() -> None:
    for key, row in platform_rows().items():
        assert len(row) == 4, key
        assert row[3] or key.startswith("tiers.critical.podAntiAffinity"), key
