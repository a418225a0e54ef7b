"""Synthetic report inputs for the report tests and the report benchmark (`bench/explain.py`): test fixtures, not a
model of anything, so they live here and not in the product."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from models.explain import BASE_COLUMN

_FIRST = ("Ada", "Brook", "Cyra", "Dario", "Elif", "Femi", "Gwen", "Hugo", "Ines", "Jonas", "Kira", "Luca")
_LAST = ("Novak", "Okafor", "Petit", "Quinn", "Rossi", "Sato", "Tanaka", "Ueda", "Varga", "Weiss", "Yilmaz")


def demo_report_inputs(
    n_customers: int,
    n_managers: int,
    seed: int = 7,
    horizon_days: int = 365,
    n_reasons: int | None = None,
    interval_quantiles: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Realistic synthetic inputs for `build_reports` (for tests and benchmarks; not a model of anything).

    Returns a dict with keys scores, value_contrib, model_card, registry, customers, account_managers.
    Customer ids are zero-padded to one width ("C0001".."C0050") so no id is a substring of another; about one
    customer in twelve has no account manager; the last manager has left the company. The scores carry
    `n_reasons` value and churn reasons per customer (default: `explain.n_reasons` of configs/default.yaml) and
    the value interval at `interval_quantiles` (default: `models.interval_quantiles`), named as scoring names them.
    """
    from features.registry import describe_value, feature_registry
    from models.bundle import _quantile_name
    from pipelines.config import load_config

    config = load_config()
    currency = config.data.currency  # the reasons' amounts in it, as scoring words them
    n_reasons = config.explain.n_reasons if n_reasons is None else n_reasons
    low_q, high_q = interval_quantiles or config.models.interval_quantiles
    rng = np.random.default_rng(seed)
    h = horizon_days
    registry = feature_registry(config.features)
    numeric = [n for n, s in registry.items() if s.dtype != "category"]
    feats = numeric[:: max(len(numeric) // 24, 1)][:24]
    width = max(4, len(str(n_customers)))
    ids = np.array([f"C{i:0{width}d}" for i in range(1, n_customers + 1)])
    mids = np.array([f"AM{j:03d}" for j in range(1, n_managers + 1)])
    manager = mids[rng.integers(0, n_managers, n_customers)].astype(object)
    manager[rng.random(n_customers) < 1 / 12] = None
    scale = rng.lognormal(5.0, 1.0, len(feats))
    contrib = rng.standard_normal((n_customers, len(feats))) * scale * rng.lognormal(0, 0.7, (n_customers, 1))
    base = 1200.0
    value = base + contrib.sum(axis=1)
    value_contrib = pd.DataFrame(contrib, index=pd.Index(ids, name="customer_id"), columns=feats)
    value_contrib[BASE_COLUMN] = base
    churn = 1 / (1 + np.exp(-(rng.standard_normal(n_customers) * 1.3 - 0.8)))
    q = np.quantile(value, [0.3, 0.75]) if n_customers else (0.0, 0.0)
    tier = np.where(value >= q[1], "great", np.where(value >= q[0], "good", "problem"))
    rating = np.array(["D", "C", "B", "A"])[np.searchsorted(np.quantile(value, [0.25, 0.5, 0.75]), value)]
    flag_pool = ["concentration", "manager_departed", "at_risk", "promo_abuse", "return_abuse"]
    flags = []
    for i in range(n_customers):
        chosen = [f for f in flag_pool if rng.random() < (0.35 if f == "at_risk" else 0.06)]
        if churn[i] > 0.6 and "at_risk" not in chosen:
            chosen.append("at_risk")
        flags.append(";".join(chosen))
    reason_reasons = {
        "great": "High net profit and a long, steady buying history",
        "good": "Profitable but buys mostly on promotion",
        "problem": "Costs more to serve than they bring in",
    }
    scores = pd.DataFrame(
        {
            "customer_id": ids,
            "as_of": pd.Timestamp("2025-06-30"),
            "model_version": "7",
            f"pred_value_{h}d": value,
            f"pred_value_{_quantile_name(low_q)}_{h}d": value - np.abs(value) * 0.4 - 150,
            f"pred_value_{_quantile_name(high_q)}_{h}d": value + np.abs(value) * 0.5 + 200,
            f"pred_churn_prob_{h}d": churn,
            f"pred_expected_net_value_{h}d": value * (1 - churn),
            "tier": tier,
            "tier_reason": [reason_reasons[t] for t in tier],
            "rating": rating,
            "flags": flags,
            "account_manager_id": pd.Series(manager, dtype="str"),
            f"service_effort_hours_{h}d": rng.gamma(0.6, 12.0, n_customers),
            f"profit_net_{h}d": value * rng.lognormal(0, 0.3, n_customers),
        }
    )

    def plausible(name: str) -> float:
        unit = registry[name].unit
        if unit == "share":
            return float(rng.uniform(0.0, 0.6))
        if unit == "currency":
            return float(rng.lognormal(6.5, 1.0))
        if unit == "ratio":
            return float(rng.uniform(0.3, 3.0))
        if unit == "flag":
            return 1.0
        return float(rng.integers(1, 40 if unit != "days" else 900))

    top_idx = (
        np.argsort(-np.abs(contrib), axis=1)[:, :n_reasons] if n_customers else np.zeros((0, n_reasons), int)
    )
    churn_feats = ["recency_days", "orders_overdue_ratio", "service_complaints_90d"]
    churn_feats += [n for n in numeric if n not in churn_feats][: max(n_reasons - len(churn_feats), 0)]
    for k in range(n_reasons):
        names = [feats[j] for j in top_idx[:, k]]
        scores[f"value_reason_feature_{k + 1}"] = names
        scores[f"value_reason_{k + 1}"] = [describe_value(nm, plausible(nm), currency) for nm in names]
        scores[f"churn_reason_feature_{k + 1}"] = churn_feats[k]
        scores[f"churn_reason_{k + 1}"] = [
            describe_value(churn_feats[k], plausible(churn_feats[k]), currency) for _ in ids
        ]
    customers = pd.DataFrame(
        {
            "customer_id": ids,
            "account_manager_id": scores["account_manager_id"],
            "segment": rng.choice(["retail", "wholesale", "online"], n_customers),
            "name": [
                f"{_FIRST[i % len(_FIRST)]} {_LAST[(i // len(_FIRST)) % len(_LAST)]} {i + 1}"
                for i in range(n_customers)
            ],
            "email": [f"customer{i + 1}@example.org" for i in range(n_customers)],
            "phone": [f"+44 20 7946 {i + 1:04d}" for i in range(n_customers)],
        }
    )
    account_managers = pd.DataFrame(
        {
            "account_manager_id": mids,
            "name": [f"Manager {_FIRST[j % len(_FIRST)]} {j + 1}" for j in range(n_managers)],
            "started_at": pd.Timestamp("2020-01-01"),
            "left_at": [pd.NaT] * (n_managers - 1) + [pd.Timestamp("2025-05-01")],
        }
    )
    backtest = pd.DataFrame(
        [
            {"fold": f, "model": m, "metric": met, "value": v + 0.01 * f}
            for f in range(3)
            for m, off in (("challenger", 0.02), ("baseline_rfm", 0.0))
            for met, v in (("value_norm_gini", 0.55 + off), ("churn_roc_auc", 0.71 + off))
        ]
    )
    model_card = {
        "model_name": "customer-value",
        "model_version": "7",
        "trained_at": "2025-06-30T02:00:00",
        "horizon_days": h,
        "currency": "EUR",
        "backtest": backtest,
        "data_fingerprint": {
            "orders": {"rows": 120345, "sha256": "9f2c" * 16},
            "customers": {"rows": n_customers, "sha256": "1a7e" * 16},
        },
        "feature_manifest": {
            "groups_present": ["profit", "tenure", "service_effort"],
            "groups_absent": ["referral"],
        },
    }
    return {
        "scores": scores,
        "value_contrib": value_contrib,
        "model_card": model_card,
        "registry": registry,
        "customers": customers,
        "account_managers": account_managers,
    }


# --- the demo site in headless chromium: one copy for the report and report-history browser tests -----------

BROWSER_WIDTH, BROWSER_HEIGHT = 1280, 2000
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    f"--window-size={BROWSER_WIDTH},{BROWSER_HEIGHT}",
]


def report_config(**changes: Any) -> Any:
    """The default configuration's report settings with `changes` (the report round tests)."""
    from pipelines.config import load_config
    from pipelines.reports.config import ReportConfig

    return ReportConfig(**{**load_config().report.model_dump(), **changes})


def build_from(data: dict[str, Any], out: Any, config: Any = None, scores: Any = None, **kwargs: Any) -> Any:
    """`build_reports` of `demo_report_inputs(...)` into `out` (default report settings unless `config`; the inputs'
    scores unless `scores`): the report round tests' one call."""
    from pipelines.reports import build_reports

    return build_reports(
        data["scores"] if scores is None else scores,
        data["value_contrib"],
        data["model_card"],
        out,
        report_config() if config is None else config,
        data["registry"],
        customers=data["customers"],
        account_managers=data["account_managers"],
        **kwargs,
    )


def chromium() -> str:
    """The headless chromium binary; the browser tests fail without one (skip only with CVP_SKIP_BROWSER=1)."""
    import os
    import shutil
    from pathlib import Path

    import pytest

    if os.environ.get("CVP_SKIP_BROWSER") == "1":
        pytest.skip("CVP_SKIP_BROWSER=1: browser tests switched off")
    candidates = [os.environ.get("CVP_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")]
    found = next((c for c in candidates if c and Path(c).is_file() and os.access(c, os.X_OK)), None)
    if found is None:
        pytest.fail(
            "headless chromium not found (looked at $CVP_CHROMIUM, /usr/bin/chromium, PATH). Install it with "
            "`apt-get install -y chromium`, or set CVP_SKIP_BROWSER=1 to skip the browser tests.",
            pytrace=False,
        )
    return str(found)


def run_chromium(binary: str, args: list[str], profile: Any) -> Any:
    """One chromium run with a fresh profile (parallel runs must not share one; nothing leaks between tests)."""
    import subprocess

    return subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def demo_site(
    root: Any, history: Any = None, data: dict[str, Any] | None = None
) -> tuple[dict[str, Any], Any]:
    """(inputs, `ReportPaths`) of the browser tests' demo site: 40 customers, 2 managers, seed 11, written under
    `root / "site"`; with `history` (`pipelines.reports.actions.HistoryReport`) the pages get its sections."""
    from pipelines.config import load_config
    from pipelines.reports import build_reports

    data = demo_report_inputs(40, 2, seed=11) if data is None else data
    paths = build_reports(
        data["scores"],
        data["value_contrib"],
        data["model_card"],
        root / "site",
        load_config().report,
        data["registry"],
        customers=data["customers"],
        account_managers=data["account_managers"],
        history=history,
    )
    return data, paths
