"""Settings for tests, from the product's one source of defaults (`configs/default.yaml`), never a second copy.

`defaults()` is the resolved default configuration (`pipelines.config.load_config()`, loaded once);
`override("features", windows_days=(30,))` is one section of it with some keys changed, merged and validated the
way a `--config` file is (nested mappings merge key by key, anything else replaces).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel

from pipelines.config import AppConfig, load_config


@cache
def defaults() -> AppConfig:
    return load_config()


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, BaseModel):
            value = value.model_dump()
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def override(section: str, **changes: Any) -> Any:
    """The default settings of `section` (`features`, `labels`, `models`, `tiers`, ...) with `changes`, validated."""
    base = getattr(defaults(), section)
    return type(base).model_validate(_merge(base.model_dump(), changes))
