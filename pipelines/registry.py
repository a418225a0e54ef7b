"""`cvp models`: the registered versions of the model side by side, and `cvp models promote VERSION`.

A data scientist compares and promotes without retraining. `list_versions` reads each version's training run
(as-of, horizon, the backtest means of `models.primary_metrics` as `cvp train` logged them: `model.<metric>`) and
the champion's, for the difference. `promote_version` moves `@champion` and writes the promotion record
`cvp train --promote` writes (`pipelines.tracking.record_promotion`): the version's `promotion` tag and its run's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from features.validation import StructuralError
from pipelines.config import AppConfig, load_config


@dataclass(frozen=True)
class VersionRow:
    """One registered version: its number, training run, as-of, horizon, primary metrics, aliases, promotion."""

    version: str
    run_id: str
    as_of: str
    horizon_days: str
    metrics: dict[str, float]
    aliases: tuple[str, ...]
    promotion: str


def _registry(config: Path | None, tracking_uri: str | None) -> tuple[AppConfig, str, Any]:
    import mlflow

    from pipelines.tracking import configure_tracking

    cfg = load_config(config)
    configure_tracking(Path(cfg.mlflow.tracking_dir), tracking_uri)
    return cfg, cfg.mlflow.registered_model, mlflow.MlflowClient()


def list_versions(config: Path | None, tracking_uri: str | None) -> tuple[AppConfig, list[VersionRow]]:
    """The registered versions of `mlflow.registered_model`, oldest first."""
    cfg, name, client = _registry(config, tracking_uri)
    aliases: dict[str, list[str]] = {}  # the search's versions may not carry their aliases
    for alias, number in client.get_registered_model(name).aliases.items():
        aliases.setdefault(str(number), []).append(alias)
    rows = []
    for v in sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version)):
        params: dict[str, str] = {}
        metrics: dict[str, float] = {}
        if v.run_id:
            run = client.get_run(v.run_id)
            params, metrics = run.data.params, run.data.metrics
        rows.append(
            VersionRow(
                str(v.version),
                v.run_id or "",
                params.get("as_of", ""),
                params.get("horizon_days", ""),
                {m: metrics[f"model.{m}"] for m in cfg.models.primary_metrics if f"model.{m}" in metrics},
                tuple(sorted(aliases.get(str(v.version), []))),
                (v.tags or {}).get("promotion", ""),
            )
        )
    return cfg, rows


def run_models(config: Path | None, tracking_uri: str | None, console: Any) -> list[VersionRow]:
    """`cvp models`: the versions as a table, each primary metric with its difference from the champion's."""
    from rich.table import Table

    cfg, rows = list_versions(config, tracking_uri)
    name = cfg.mlflow.registered_model
    if not rows:
        console.print(f"no version of {name} is registered yet: train one with `cvp train`")
        return rows
    from pipelines.tracking import CHAMPION

    champion = next((r for r in rows if CHAMPION in r.aliases), None)
    from pipelines.metric_names import METRIC_LABELS

    caption = "run: the training's MLflow run; days: the horizon; metrics: backtest means (vs the champion)"
    table = Table(title=f"registered model {name}", caption=caption, box=None, pad_edge=False)
    for column in ("version", "alias", "run", "as-of", "days"):
        table.add_column(column, no_wrap=True)
    metrics = list(cfg.models.primary_metrics)
    for metric in metrics:
        table.add_column(METRIC_LABELS.get(metric, metric), no_wrap=True, justify="right")
    for r in rows:
        cells = []
        for m in metrics:
            value = r.metrics.get(m)
            cell = "-" if value is None else f"{value:.3f}"
            if value is not None and champion is not None and r is not champion and m in champion.metrics:
                cell += f" ({value - champion.metrics[m]:+.3f})"
            cells.append(cell)
        alias = ", ".join(r.aliases)
        table.add_row(r.version, alias, r.run_id[:8], r.as_of, r.horizon_days, *cells)
    console.print(table)
    return rows


def promote_version(version: str, config: Path | None, tracking_uri: str | None, console: Any) -> str | None:
    """`cvp models promote VERSION`: `@champion` moved to a registered version (its `@challenger` alias, if it
    held it, removed); returns the version it replaced (None: there was no champion). A version that is not registered, or that a training killed before its
    promotion registered (`pipelines.tracking.STATUS_TAG`), is refused: exit 2 naming the registered ones."""
    from mlflow.exceptions import MlflowException

    from pipelines.tracking import (
        CHALLENGER,
        CHAMPION,
        INCOMPLETE,
        STATUS_TAG,
        current_champion,
        record_promotion,
    )

    cfg, name, client = _registry(config, tracking_uri)
    version = str(version).strip().removeprefix("v")
    try:
        found = client.get_model_version(name, version)
    except MlflowException:
        found = None
    if found is None:
        listed = sorted((str(v.version) for v in client.search_model_versions(f"name='{name}'")), key=int)
        known = f"registered: {', '.join(listed)}" if listed else "none is registered yet (`cvp train`)"
        raise StructuralError(f"version {version!r} of {name} is not registered ({known}); see `cvp models`")
    if (found.tags or {}).get(STATUS_TAG) == INCOMPLETE:
        raise StructuralError(
            f"version {version} of {name} is incomplete: the training that registered it died before its "
            "promotion was decided; train again (`cvp train`)"
        )
    before = current_champion(name)
    if before == version:
        console.print(f"version {version} of {name} is already champion; nothing changed")
        return before
    replaced = f"replaced v{before}" if before else "there was no champion"
    reason = f"promoted by `cvp models promote` ({replaced})"
    record_promotion(client, name, version, CHAMPION, reason, found.run_id)
    if CHALLENGER in (getattr(found, "aliases", None) or []):  # a challenger no more
        client.delete_registered_model_alias(name, CHALLENGER)
    console.print(f"{name} version {version} is now champion ({replaced})", markup=False, highlight=False)
    return before
