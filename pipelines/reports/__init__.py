"""Static HTML reports: one team page and one page per account manager (see `pipelines.reports.pages`).

Rooms: `config` (settings, paths), `columns` (the score columns read), `phrases` (words and numbers for people),
`charts` (matplotlib -> inline SVG), `waterfall` (per-customer waterfall layout), `views` (manager-page view
models), `team` (team-page view models), `card` (the model card), `pages` (page names, rendering, writing) and
`templates/`.

The names below are loaded on first use (PEP 562): `pipelines.config` imports `ReportConfig` without pandas,
jinja2 or matplotlib.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.reports.config import ReportConfig, ReportPaths
    from pipelines.reports.pages import REPORT_MARKER, build_reports, page_slugs

_EXPORTS = {
    "ReportConfig": "pipelines.reports.config",
    "ReportPaths": "pipelines.reports.config",
    "REPORT_MARKER": "pipelines.reports.pages",
    "build_reports": "pipelines.reports.pages",
    "page_slugs": "pipelines.reports.pages",
}

__all__ = ["REPORT_MARKER", "ReportConfig", "ReportPaths", "build_reports", "page_slugs"]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'pipelines.reports' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
