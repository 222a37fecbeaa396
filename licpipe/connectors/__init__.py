"""Connectors: one parser module per export format, registered by landing-folder name.

Each module exposes `SCHEMAS` (raw table name -> column types) and
`parse_file(path, **options) -> ParsedFile`, which recognises the file kind by its header.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from licpipe.connectors.base import ParsedFile, Schema

# Landing folder -> connector modules reading it, in the order they are tried.
SOURCE_MODULES: dict[str, tuple[str, ...]] = {
    "m365": ("m365",),
    "flexlm": ("flexlm_log", "lmstat"),
    "salesforce": ("salesforce",),
    "slack": ("slack",),
    "adobe": ("adobe",),
    "okta": ("okta",),
    "entra": ("entra",),
    "installs": ("installs",),
    "google": ("saas_users",),
    "zoom": ("saas_users",),
    "atlassian": ("saas_users",),
    "hr": ("hr",),
    "entitlements": ("entitlements",),
    "decisions": ("decisions",),
}


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"licpipe.connectors.{name}")


def source_modules(source: str) -> list[ModuleType]:
    """Return the connector modules for one landing folder; raises KeyError for unknown ones."""
    return [_module(name) for name in SOURCE_MODULES[source]]


def all_schemas() -> dict[str, Schema]:
    """Merge every connector's raw table schemas, so all raw tables exist even when empty."""
    schemas: dict[str, Schema] = {}
    for names in SOURCE_MODULES.values():
        for name in names:
            schemas.update(_module(name).SCHEMAS)
    return schemas


Parser = Callable[..., ParsedFile]
__all__ = ["ParsedFile", "Parser", "Path", "all_schemas", "source_modules", "SOURCE_MODULES"]
