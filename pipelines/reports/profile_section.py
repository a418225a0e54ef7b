"""View model, chart and page of the ideal-customer profile and acquisition payback (`cvp profile`, and the
team page's profile section with `cvp report --profile DIR`).

Aggregates only: attribute values, features, channels and per-manager counts; no customer id, no personal column.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from pipelines.reports.phrases import (
    feature_label,
    horizon_phrases,
    is_blank,
    lookalike_reason_isolated,
    money,
    pct,
    to_date,
)
from pipelines.reports.views import manager_ids


def _num(value: Any, fmt: str = "{:.2f}") -> str:
    return "-" if value is None or pd.isna(value) else fmt.format(float(value))


def _money(value: Any, currency: str) -> str:
    return "unknown" if value is None or pd.isna(value) else money(float(value), currency)


def payback_chart(channels: pd.DataFrame) -> Markup | None:
    """Horizontal bars: (realised + expected profit) / acquisition cost per channel, a dashed line at 1 (paid
    back). Plain SVG written here (no matplotlib: importing it cost `cvp profile` seconds), deterministic."""
    from html import escape

    judged = channels.loc[channels["payback_ratio"].notna()]
    if judged.empty:
        return None
    judged = judged.sort_values(["payback_ratio", "acquisition_channel"], kind="stable")
    ratio = judged["payback_ratio"].to_numpy(dtype=np.float64)
    labels = [str(c).replace("_", " ") for c in judged["acquisition_channel"]]
    left, width, row, top = 150.0, 380.0, 24.0, 10.0
    low, high = min(0.0, float(ratio.min())), max(1.0, float(ratio.max())) * 1.05

    def x(v: float) -> float:
        return left + (v - low) / (high - low) * width

    height = top + row * len(judged) + 44.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 20:.0f}pt" height="{height:.0f}pt" '
        f'viewBox="0 0 {left + width + 20:.0f} {height:.0f}" role="img" '
        'aria-label="payback ratio per acquisition channel" font-family="sans-serif" font-size="11">'
    ]
    for i, (label, r) in enumerate(zip(labels, ratio, strict=True)):
        y = top + i * row
        x0, x1 = sorted((x(0.0), x(float(r))))
        colour = "#1b7f3b" if r >= 1 else "#b3261e"
        parts.append(
            f'<rect x="{x0:.1f}" y="{y + 4:.1f}" width="{x1 - x0:.1f}" height="{row - 8:.1f}" fill="{colour}"/>'
        )
        parts.append(
            f'<text x="{left - 6:.1f}" y="{y + row / 2 + 4:.1f}" text-anchor="end">{escape(label)}</text>'
            f'<text x="{x1 + 4:.1f}" y="{y + row / 2 + 4:.1f}">{r:.2f}</text>'
        )
    bottom = top + row * len(judged)
    parts.append(
        f'<line x1="{x(1.0):.1f}" y1="{top:.1f}" x2="{x(1.0):.1f}" y2="{bottom:.1f}" stroke="#333333" '
        'stroke-dasharray="4 3"/>'
        f'<line x1="{left:.1f}" y1="{bottom:.1f}" x2="{left + width:.1f}" y2="{bottom:.1f}" stroke="#999999"/>'
        f'<text x="{x(0.0):.1f}" y="{bottom + 14:.1f}" text-anchor="middle">0</text>'
        f'<text x="{x(1.0):.1f}" y="{bottom + 14:.1f}" text-anchor="middle">1</text>'
        f'<text x="{left + width / 2:.1f}" y="{bottom + 34:.1f}" text-anchor="middle" font-size="10">'
        "profit to date + expected profit, per unit of acquisition cost</text></svg>"
    )
    return Markup("".join(parts))


def _amount(value: Any, unit: str, currency: str) -> str:
    """A feature's value as a manager reads it, with its unit (`features.registry.FeatureSpec.unit`): money with
    its currency ("438 EUR"; was "438.09"), a share in percent, days, tickets, a flag as yes / no."""
    if value is None or pd.isna(value):
        return "unknown"
    v = float(value)
    if unit == "currency":
        return money(v, currency)
    if unit == "share":
        return pct(v)
    if unit == "flag":
        return "yes" if v >= 0.5 else "no"
    number = f"{v:,.0f}" if abs(v) >= 100 or v == round(v) else f"{v:,.1f}" if abs(v) >= 1 else f"{v:.2f}"
    if unit == "score 1-5":
        return f"{number} of 5"
    if unit in ("", "ratio", "category"):
        return number
    return f"{number} {unit.replace('currency', currency)}"


def _how_often(lift: Any) -> str:
    """How much more often than the average customer a value's customers are great, in words (`lift`)."""
    if lift is None or pd.isna(lift):
        return "unknown"
    if lift >= 1.1:
        return f"{lift:.1f} times as often"
    if lift > 0.9:
        return "about as often"
    return "less often" if lift > 0 else "never"


def _sets_apart(auc: Any) -> str:
    """How clearly a signal tells the best customers from the rest, in words: the data scientists' separation
    (AUC, the chance a best customer's value is above another's; 0.5: no difference) read by its distance from
    0.5, and which way."""
    if auc is None or pd.isna(auc):
        return "unknown"
    d = abs(float(auc) - 0.5)
    how = "hardly" if d < 0.05 else "somewhat" if d < 0.1 else "clearly" if d < 0.2 else "very clearly"
    return f"{how} {'higher' if auc >= 0.5 else 'lower'}"


def _feature_words(name: str, description: str, registry: Mapping[str, Any]) -> tuple[str, str]:
    """(label, unit) of a profile feature: the manager pages' label (`phrases.feature_label`: "..., all time", never
    "before the cutoff") and unit from the registry; a feature it does not hold, its description."""
    if name in registry:
        return feature_label(name, registry), str(registry[name].unit)
    return to_date(str(description)), ""


def profile_view(result: Any, currency: str, registry: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything the profile section shows, formatted (`result`: `pipelines.profile.ProfileTables`): in a
    manager's words (round 37, was: "Separation (AUC)", "strength", "Wilson interval", medians without their
    currency, column names as hover text), the data scientists' figures under `analyst_*` (shown apart).
    `registry`: the feature registry (labels, units); None: the default config's."""
    if registry is None:
        from features.registry import feature_registry
        from pipelines.config import load_config

        registry = feature_registry(load_config().features)
    f = result.facts
    who = result.who
    attributes = []
    for attribute, rows in who.groupby("attribute", sort=False):
        attributes.append(
            {
                "attribute": str(attribute).replace("_", " "),
                "strength": _num(rows["strength"].iloc[0]),
                "rows": [
                    {
                        "value": str(r.value).replace("_", " "),
                        "customers": f"{int(r.customers):,}",
                        "share": pct(r.share_great) if pd.notna(r.share_great) else "-",
                        "interval": f"{pct(r.share_low)}-{pct(r.share_high)}"
                        if pd.notna(r.share_low)
                        else "-",
                        "lift": _num(r.lift),
                        "how_often": _how_often(r.lift),
                        "supported": bool(r.supported),
                        "profile_value": bool(r.profile_value),
                    }
                    for r in rows.itertuples()
                ],
            }
        )
    behaviour = []
    for r in result.behaviour.itertuples():
        label, unit = _feature_words(str(r.feature), str(r.description), registry)
        behaviour.append(
            {
                "label": label,
                "feature": r.feature,
                "great": _amount(r.median_great, unit, currency),
                "rest": _amount(r.median_rest, unit, currency),
                "sets_apart": _sets_apart(r.auc),
                "great_raw": _num(r.median_great, "{:,.2f}"),
                "rest_raw": _num(r.median_rest, "{:,.2f}"),
                "auc": _num(r.auc),
                "lift": _num(r.lift_top_quintile),
            }
        )
    shap = [
        {
            "label": _feature_words(str(r.feature), str(r.description), registry)[0],
            "feature": r.feature,
            "difference": _money(r.difference, currency),
        }
        for r in result.shap.itertuples()
    ]
    look = result.lookalikes
    if len(
        look
    ):  # no manager: "" (`views.manager_ids`), also read back from the CSV's empty cell (was: left out)
        look = look.assign(account_manager_id=manager_ids(look["account_manager_id"]).to_numpy())
    by_manager = (
        look.groupby("account_manager_id", sort=True)[["customers", "lookalikes"]].sum().reset_index()
        if len(look)
        else pd.DataFrame(columns=["account_manager_id", "customers", "lookalikes"])
    )
    by_status = (
        look.groupby("status", sort=True)["lookalikes"].sum() if len(look) else pd.Series(dtype="int64")
    )
    channels = [
        {
            "channel": str(r.acquisition_channel).replace("_", " "),
            "won": f"{int(r.customers_won):,}",
            "judged": f"{int(r.judged):,}",
            "provisional": f"{int(getattr(r, 'judged_provisional', 0)):,}",
            "cost_unknown": f"{int(r.cost_unknown):,}",
            "not_scored": f"{int(r.not_scored):,}",
            "cost": _money(r.total_cost, currency),
            "realised": _money(r.realised_profit, currency),
            "expected": _money(r.expected_profit, currency),
            "ratio": _num(r.payback_ratio),
            "share": pct(r.share_paying_back) if pd.notna(r.share_paying_back) else "-",
            "loss": bool(pd.notna(r.payback_ratio) and r.payback_ratio < 1),
        }
        for r in result.channels.itertuples()
    ]
    base = f.get("base_share_great")
    look = f.get("lookalike", {})
    bt = look.get("backtest", {})
    new = result.new_customers
    return {
        "new": {
            "skipped": look.get("skipped") or "",
            "count": f"{len(new):,}",
            "early_days": look.get("early_days"),
            # the horizon its label "great" is judged over (was: "a year later" whatever the horizon)
            "period": horizon_phrases(int(look.get("horizon_days") or f["horizon_days"]))[1],
            "backtest": None
            if not bt or "skipped" in bt
            else {
                "cutoff": bt["test_cutoff"],
                "rows": f"{bt['test_rows']:,}",
                "auc_model": _num(bt["auc_model"]),
                "auc_baseline": _num(bt["auc_baseline"]),
                "brier_model": _num(bt["brier_model"], "{:.3f}"),
                "brier_baseline": _num(bt["brier_baseline"], "{:.3f}"),
                "ece_model": _num(bt["ece_model"], "{:.3f}"),
                "share": pct(bt["test_great_share"]),
                "better": _better(bt["auc_model"], bt["auc_baseline"]),
            },
            "backtest_skipped": bt.get("skipped", "") if bt else "",
            "by_tier": [
                {"tier": str(t), "count": f"{int(c):,}"}
                for t, c in new["provisional_tier"].value_counts().sort_index().items()
            ]
            if len(new)
            else [],
            "likely_great": f"{int((new['lookalike_prob_great'] >= 0.5).sum()):,}" if len(new) else "0",
        },
        "facts": f,
        "base_share": pct(base) if base is not None else "-",
        "attributes": attributes,
        "behaviour": behaviour,
        "shap": shap,
        "lookalikes_total": f"{int(f.get('lookalikes', 0)):,}",
        "lookalikes_by_status": [
            {"status": str(s).replace("_", " "), "count": f"{int(c):,}"} for s, c in by_status.items()
        ],
        "managers": [
            {
                "id": str(r.account_manager_id) or "no account manager",
                "customers": f"{int(r.customers):,}",
                "lookalikes": f"{int(r.lookalikes):,}",
            }
            for r in by_manager.itertuples()
        ],
        "channels": channels,
        "chart": payback_chart(result.channels),
        "cost_unknown": int(f.get("cost_sources", {}).get("unknown", 0)),
        "provisional": f"{int(f.get('provisional_payback', 0)):,}" if f.get("provisional_payback") else "",
        "currency": currency,
    }


def _better(model: Any, baseline: Any) -> str:
    """The lookalike model against the channel-and-segment rule, by their AUC, in words."""
    if model is None or baseline is None or pd.isna(model) or pd.isna(baseline):
        return "could not be compared with"
    d = float(model) - float(baseline)
    return "did better than" if d >= 0.02 else "did no better than" if d > -0.02 else "did worse than"


#: The leading columns of the new customers' table (`lookalike_scores.parquet`), reasons and tier after them.
NEW_CUSTOMER_COLUMNS = (
    "customer_id",
    "account_manager_id",
    "status",
    "lookalike_prob_great",
    "lookalike_expected_value",
)


def scores_new_customers(scores: pd.DataFrame) -> pd.DataFrame:
    """The rows of a scores frame with status `new` (`cvp score` with a registered lookalike model), as the
    `lookalike_scores.parquet` columns: customer_id, account_manager_id, status, `lookalike_prob_great`,
    `lookalike_expected_value`, `lookalike_reason_1..n`, `provisional_tier`."""
    if "lookalike_prob_great" not in scores.columns or "status" not in scores.columns:
        return pd.DataFrame(columns=["customer_id", "lookalike_prob_great"])
    new = scores[(scores["status"].astype("str") == "new").to_numpy()]
    reasons = sorted(
        (c for c in new.columns if c.startswith("lookalike_reason_")), key=lambda c: int(c.rsplit("_", 1)[1])
    )
    columns = [c for c in NEW_CUSTOMER_COLUMNS if c in new.columns]
    return new[[*columns, *reasons, "provisional_tier"]].reset_index(drop=True)


def new_customer_rows(
    new: pd.DataFrame | None, directory: pd.DataFrame, actions: dict[str, str], currency: str
) -> dict[str, list[dict[str, Any]]]:
    """Per manager (the pages' `manager` key), their new customers from `lookalike_scores.parquet`, the most likely
    to become great first: id, name, chance, expected value, provisional tier, reasons, what to do first.

    `directory`: the prepared scores of every customer (`customer_id`, `manager`, `customer_name`); a new customer
    is shown only on the page of the manager the scores give them.
    """
    if new is None or new.empty:
        return {}
    kept = ["manager", "customer_name", *(["status_reason"] if "status_reason" in directory else [])]
    who = directory.drop_duplicates("customer_id").set_index("customer_id")[kept]
    rows = new.assign(customer_id=new["customer_id"].astype("str")).join(who, on="customer_id")
    rows = rows[rows["manager"].notna()]
    rows = rows.sort_values(
        ["lookalike_prob_great", "customer_id"], ascending=[False, True], kind="mergesort"
    )
    reasons = sorted(
        (c for c in rows.columns if c.startswith("lookalike_reason_")), key=lambda c: int(c.rsplit("_", 1)[1])
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for manager, sub in rows.groupby("manager", sort=True):
        out[str(manager)] = [
            {
                "customer_id": str(r["customer_id"]),
                "name": "" if pd.isna(r["customer_name"]) else str(r["customer_name"]),
                "chance": "unknown"
                if is_blank(r["lookalike_prob_great"])
                else pct(float(r["lookalike_prob_great"])),
                "value": _money(r["lookalike_expected_value"], currency),
                "amount": None
                if is_blank(r["lookalike_expected_value"])
                else float(r["lookalike_expected_value"]),
                "tier": "not suggested" if is_blank(r["provisional_tier"]) else str(r["provisional_tier"]),
                "reasons": [
                    lookalike_reason_isolated(str(r[c])) for c in reasons if not pd.isna(r[c]) and str(r[c])
                ],
                "action": actions.get(str(r["provisional_tier"]).split(" ", 1)[0], ""),
                "status_reason": "" if is_blank(r.get("status_reason")) else str(r["status_reason"]),
            }
            for r in sub.to_dict("records")
        ]
    return out
