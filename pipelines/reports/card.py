"""The model card on the team page: facts, the backtest table, the data fingerprint and the feature manifest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from pipelines.metric_names import TABLE_NOTES, TABLE_TITLES, metric_tables
from pipelines.reports.phrases import card_label, group_label, metric_words


def _backtest_table(backtest: Any, currency: str) -> dict[str, Any] | None:
    """Mean +- std per (model, metric) from the tidy backtest frame: one table per kind of metric as on the
    console (`metric_names.metric_tables`: value, churn, AUC buys again), models as rows, the metrics' short
    labels as columns and a legend under each table giving their words and raw names. Was: one table with every
    metric's words in its header, 1,712 px wide on the plain demo's team page."""
    if not isinstance(backtest, pd.DataFrame) or backtest.empty:
        return None
    stats = backtest.groupby(["model", "metric"], sort=True)["value"].agg(["mean", "std", "count"])
    metrics = sorted(backtest["metric"].astype(str).unique())
    first = ["model", "champion"]
    names = set(backtest["model"].astype(str))
    models = [m for m in first if m in names] + sorted(names - set(first))
    tables = []
    for kind, group in metric_tables(metrics):
        rows = []
        for model in models:
            cells = []
            for metric in group:
                if (model, metric) not in stats.index:
                    cells.append(None)
                    continue
                s = stats.loc[(model, metric)]
                spread = f"± {s['std']:.3f}" if s["count"] > 1 and np.isfinite(s["std"]) else ""
                cells.append({"mean": f"{s['mean']:.3f}", "std": spread})
            if any(c is not None for c in cells):
                rows.append({"model": model, "cells": cells})
        # the words for a team lead, the raw name beside them for a data scientist
        legend = [{"label": card_label(m), "words": metric_words(m, currency), "name": m} for m in group]
        title = TABLE_TITLES.get(kind, kind.capitalize())
        tables.append({"title": title, "note": TABLE_NOTES.get(kind, ""), "metrics": legend, "rows": rows})
    folds = int(backtest["fold"].nunique()) if "fold" in backtest else 0
    words = [{"words": metric_words(m, currency), "name": m} for m in metrics]
    return {"metrics": words, "tables": tables, "folds": folds}


def _fingerprint_rows(fingerprint: Any) -> list[dict[str, str]]:
    if not isinstance(fingerprint, Mapping):
        return []
    rows = []
    for table in sorted(fingerprint):
        item = fingerprint[table]
        if isinstance(item, Mapping):
            n, digest = item.get("rows", ""), item.get("sha256", "")
        elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) >= 2:
            n, digest = item[0], item[1]
        else:
            n, digest = "", item
        rows.append(
            {"table": str(table), "rows": f"{n:,}" if isinstance(n, int) else str(n), "sha256": str(digest)}
        )
    return rows


def _manifest_rows(manifest: Any) -> list[dict[str, Any]]:
    """One row per manifest key. A group list or mapping (`groups_absent`: group -> why) is said in words
    (`phrases.group_label`, "Service effort (no tickets table)"); each item keeps its raw name for a data
    scientist (`items`, shown in small code beside the words). "none" when empty."""
    if not isinstance(manifest, Mapping):
        return [] if manifest is None else [{"key": "summary", "value": str(manifest)}]
    rows = []
    for key in manifest:
        value = manifest[key]
        row: dict[str, Any] = {"key": str(key).replace("_", " ").capitalize()}
        if isinstance(value, Mapping | list | tuple | set):  # was printed as a dict, `{}` when none
            whys = value if isinstance(value, Mapping) else dict.fromkeys(value, "")
            items = [
                {"words": group_label(str(g)), "name": str(g), "why": str(why) if why else ""}
                for g, why in sorted(whys.items(), key=lambda kv: group_label(str(kv[0])))
            ]
            row["items"] = items
            value = (
                "; ".join(f"{i['words']} ({i['why']})" if i["why"] else i["words"] for i in items)
                if isinstance(value, Mapping)
                else ", ".join(i["words"] for i in items)
            ) or "none"
        row["value"] = str(value)
        rows.append(row)
    return rows


_CARD_KNOWN = {
    "backtest",
    "data_fingerprint",
    "feature_manifest",
    "provisional_label",
    "rejected_rows_share",
    "other_company_model",
    "stopped_names",  # the banner's (`phrases.stopped_tables_banner`)
    "unseen_values",  # the manager pages' marks (`phrases.unseen_profile_marks`)
    "champion_now_version",  # the banner's (`phrases.champion_now_banner`)
}


def model_card_view(card: Mapping[str, Any], h: int, currency: str) -> dict[str, Any]:
    facts = [
        ("Model", card.get("model_name", "unknown")),
        ("Version", card.get("model_version", "unknown")),
        ("Trained at", card.get("trained_at", "unknown")),
        ("Horizon", f"{card.get('horizon_days', h)} days"),
        ("Currency", card.get("currency", currency)),
    ]
    shown = {"model_name", "model_version", "trained_at", "horizon_days", "currency"}
    for key in sorted(k for k in card if k not in shown | _CARD_KNOWN):
        value = card[key]
        if isinstance(value, str | int | float | bool) or value is None:
            label = str(key).replace("_", " ").capitalize()
            if key == "provisional":  # the scores' model under evaluation, or set aside (`provisional_label`)
                label = str(card.get("provisional_label") or label)
            facts.append((label, value))
    return {
        "facts": [{"key": k, "value": str(v)} for k, v in facts],
        "backtest": _backtest_table(card.get("backtest"), str(card.get("currency", currency))),
        "fingerprint": _fingerprint_rows(card.get("data_fingerprint")),
        "manifest": _manifest_rows(card.get("feature_manifest")),
        "seasonal_note": card.get("seasonal_history"),  # issue 16: shown beside the expected total
        "model_season": card.get("model_season"),  # the totals' correction of another time of year: there too
    }
