"""Benchmark: exact path-dependent SHAP for LightGBM: ``models.treeshap`` against LightGBM's own ``pred_contrib``
and ``shap.TreeExplainer``, then the HTML reports.

Builds a synthetic customer-like table (~40 features: 32 numeric with NaNs, 4 low-cardinality numeric,
4 pandas ``category`` columns with missing values), fits a LightGBM regressor and a binary classifier
(``--trees`` trees, 31 leaves), then on the same rows times

* ``booster.predict(X, pred_contrib=True)``: LightGBM's own exact TreeSHAP in C++ (the reference: it is also what
  ``shap.TreeExplainer`` calls for LightGBM models),
* ``shap.TreeExplainer(model, feature_perturbation="tree_path_dependent").shap_values`` (on ``--shap-rows``
  rows, extrapolated to ``--rows`` when fewer), and
* ``TreeShapExplainer(model).shap_values`` end to end (booster flattening + table precompute + explain),
  after a one-time JIT warm-up that is timed and printed separately,

and prints rows/s for each, our speed against each reference and the max abs differences. Both LightGBM and our
explainer use every core (OpenMP threads, a thread pool); the line above the timings says how many there are.
Then it times ``build_reports`` on synthetic scores (``tests/pipelines/report_fixtures.py``) written to a fresh
temporary directory. Run: ``.venv/bin/python bench/explain.py [--rows 100000] [--trees 300] [--shap-rows N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.treeshap import TreeShapExplainer, warm_up_jit  # noqa: E402

SEED = 20240601
N_NUMERIC = 36
N_CATEGORICAL = 4


@dataclass(frozen=True)
class ExplainTiming:
    """Timings and agreement of one model's explanation on the same rows."""

    model: str
    rows: int
    shap_rows: int
    shap_seconds: float  # extrapolated to ``rows`` when shap_rows < rows
    lgbm_seconds: float  # booster.predict(X, pred_contrib=True) on all rows
    fast_seconds: float  # end to end, JIT excluded
    precompute_seconds: float
    max_abs_diff_shap: float  # on the shap_rows subset
    max_abs_diff_lgbm: float  # on all rows
    max_abs_additivity: float
    n_fallback_trees: int
    table_mb: float

    @property
    def shap_rows_per_s(self) -> float:
        return self.rows / self.shap_seconds

    @property
    def lgbm_rows_per_s(self) -> float:
        return self.rows / self.lgbm_seconds

    @property
    def fast_rows_per_s(self) -> float:
        return self.rows / self.fast_seconds


def make_dataset(n_rows: int, seed: int = SEED) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Synthetic feature table (one row per customer) with a numeric target and a binary target."""
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n_rows, N_NUMERIC))
    # A few low-cardinality and zero-inflated columns, like counts in customer data.
    numeric[:, 32:36] = rng.poisson(1.0, size=(n_rows, 4))
    data: dict[str, Any] = {f"num_{j:02d}": numeric[:, j] for j in range(N_NUMERIC)}
    levels = [list("abcde"), [f"r{i}" for i in range(12)], ["s", "m", "l"], [f"c{i}" for i in range(30)]]
    codes = np.stack([rng.integers(0, len(lv), size=n_rows) for lv in levels], axis=1)
    for j, lv in enumerate(levels):
        cat = pd.Categorical.from_codes(codes[:, j], categories=lv)
        data[f"cat_{j}"] = cat
    frame = pd.DataFrame(data)
    for j in range(0, N_NUMERIC, 3):
        frame.loc[rng.random(n_rows) < 0.08, f"num_{j:02d}"] = np.nan
    for j in range(N_CATEGORICAL):
        frame.loc[rng.random(n_rows) < 0.05, f"cat_{j}"] = np.nan
    signal = (
        np.nan_to_num(numeric[:, 0]) * 2.0
        + np.sin(numeric[:, 1] * 2.0)
        + numeric[:, 2] * numeric[:, 3]
        + 0.5 * numeric[:, 32]
        + np.where(np.isin(codes[:, 1], [1, 4, 7]), 1.5, 0.0)
        + 0.1 * (codes[:, 3] % 5)
        + (codes[:, 0] == 2) * numeric[:, 4]
    )
    y_value = signal + rng.normal(scale=0.5, size=n_rows)
    y_binary = (signal + rng.logistic(size=n_rows) > np.median(signal)).astype(int)
    return frame, y_value, y_binary


def fit_models(
    frame: pd.DataFrame, y_value: np.ndarray, y_binary: np.ndarray, n_trees: int
) -> dict[str, lgb.LGBMModel]:
    """Fit the regressor and the binary classifier the benchmark explains."""
    params = {"n_estimators": n_trees, "num_leaves": 31, "learning_rate": 0.05, "random_state": SEED}
    params["verbose"] = -1
    return {
        "regressor": lgb.LGBMRegressor(**params).fit(frame, y_value),
        "classifier": lgb.LGBMClassifier(**params).fit(frame, y_binary),
    }


def time_shap(model: lgb.LGBMModel, frame: pd.DataFrame) -> tuple[np.ndarray, float]:
    """Path-dependent SHAP values (n_rows, n_features + 1) from shap, and the seconds spent."""
    import shap

    start = time.perf_counter()
    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    values = np.asarray(explainer.shap_values(frame))
    expected = np.ravel(explainer.expected_value)[-1]
    seconds = time.perf_counter() - start
    # shap's output shape for binary LightGBM has changed across versions: keep the positive class.
    if values.ndim == 3:
        values = values[-1] if values.shape[0] == 2 else values[..., -1]
    full = np.column_stack([values, np.full(len(frame), expected)])
    return full, seconds


def time_fast(
    model: lgb.LGBMModel, frame: pd.DataFrame
) -> tuple[np.ndarray, float, float, TreeShapExplainer]:
    """Contributions from TreeShapExplainer end to end; returns values, total and precompute seconds."""
    start = time.perf_counter()
    explainer = TreeShapExplainer(model)
    precompute = time.perf_counter() - start
    values = explainer.shap_values(frame)
    return values, time.perf_counter() - start, precompute, explainer


def benchmark_model(name: str, model: lgb.LGBMModel, frame: pd.DataFrame, shap_rows: int) -> ExplainTiming:
    """Time both explainers on the same rows and compare their values."""
    subset = frame.iloc[:shap_rows]
    shap_values, shap_seconds = time_shap(model, subset)
    fast_values, fast_seconds, precompute, explainer = time_fast(model, frame)
    booster = model.booster_
    start = time.perf_counter()
    lgbm_values = booster.predict(frame, pred_contrib=True)
    lgbm_seconds = time.perf_counter() - start
    raw = booster.predict(frame, raw_score=True)
    return ExplainTiming(
        model=name,
        rows=len(frame),
        shap_rows=shap_rows,
        shap_seconds=shap_seconds * len(frame) / shap_rows,
        lgbm_seconds=lgbm_seconds,
        fast_seconds=fast_seconds,
        precompute_seconds=precompute,
        max_abs_diff_shap=float(np.abs(fast_values[:shap_rows, :-1] - shap_values[:, :-1]).max()),
        max_abs_diff_lgbm=float(np.abs(fast_values - lgbm_values).max()),
        max_abs_additivity=float(np.abs(fast_values.sum(axis=1) - raw).max()),
        n_fallback_trees=explainer.n_fallback_trees,
        table_mb=explainer.table_bytes / 1e6,
    )


def print_timing(t: ExplainTiming) -> None:
    extrapolated = (
        f" (timed on {t.shap_rows:,} rows, extrapolated to {t.rows:,})" if t.shap_rows < t.rows else ""
    )
    print(f"[{t.model}] rows={t.rows:,}")
    print(f"  LightGBM pred_contrib: {t.lgbm_seconds:8.2f} s  {t.lgbm_rows_per_s:10,.0f} rows/s")
    print(
        f"  shap.TreeExplainer   : {t.shap_seconds:8.2f} s  {t.shap_rows_per_s:10,.0f} rows/s{extrapolated}"
    )
    print(
        f"  TreeShapExplainer    : {t.fast_seconds:8.2f} s  {t.fast_rows_per_s:10,.0f} rows/s "
        f"(precompute {t.precompute_seconds:.2f} s, tables {t.table_mb:.1f} MB, "
        f"fallback trees {t.n_fallback_trees})"
    )
    print(
        f"  speed-up             : {t.fast_rows_per_s / t.lgbm_rows_per_s:8.2f}x vs pred_contrib   "
        f"{t.fast_rows_per_s / t.shap_rows_per_s:8.2f}x vs shap"
    )
    print(
        f"  max |diff| vs shap   : {t.max_abs_diff_shap:.2e}   vs pred_contrib: {t.max_abs_diff_lgbm:.2e}   "
        f"additivity: {t.max_abs_additivity:.2e}"
    )


def bench_reports(n_customers: int = 100_000, n_managers: int = 200) -> dict[str, float]:
    """Time `build_reports` on synthetic inputs written to a fresh temporary directory: wall seconds for the inputs
    and the reports, CPU seconds of the reports, page count and total size."""
    from pipelines.config import load_config
    from pipelines.reports import build_reports
    from tests.pipelines.report_fixtures import demo_report_inputs

    t0 = time.perf_counter()
    inputs = demo_report_inputs(n_customers, n_managers)
    t1 = time.perf_counter()
    c1 = time.process_time()
    with tempfile.TemporaryDirectory(prefix="cvp-bench-reports-") as tmp:
        paths = build_reports(
            inputs["scores"],
            inputs["value_contrib"],
            inputs["model_card"],
            Path(tmp) / "reports",
            load_config().report,
            inputs["registry"],
            customers=inputs["customers"],
            account_managers=inputs["account_managers"],
        )
        t2, c2 = time.perf_counter(), time.process_time()
        pages = [paths.index, *paths.managers.values()] + ([paths.unassigned] if paths.unassigned else [])
        sizes = [p.stat().st_size for p in pages]
    return {
        "customers": float(n_customers),
        "managers": float(n_managers),
        "pages": float(len(pages)),
        "megabytes": sum(sizes) / 1e6,
        "largest_page_megabytes": max(sizes) / 1e6,
        "inputs_seconds": t1 - t0,
        "reports_seconds": t2 - t1,
        # CPU seconds of this process: the honest figure when other jobs share the machine.
        "reports_cpu_seconds": c2 - c1,
    }


def bench_check_scores(n_customers: int = 1_000_000, repeat: int = 3) -> dict[str, float]:
    """CPU seconds of `pipelines.reports.views.check_scores` (the stop before any page, `cvp report` and
    `cvp profile`) on `n_customers` synthetic scores: `demo_report_inputs`' 10,000 rows repeated under new ids, a
    tenth of them lapsed (no prediction, no tier). The best of `repeat` runs, and the one-row-per-customer check
    alone (`check_ids`)."""
    from pipelines.reports.views import check_ids, check_scores
    from tests.pipelines.report_fixtures import demo_report_inputs

    base = demo_report_inputs(10_000, 20)["scores"]
    scores = pd.concat([base] * -(-n_customers // len(base)), ignore_index=True).iloc[:n_customers]
    scores["customer_id"] = pd.Series([f"C{i:07d}" for i in range(len(scores))], dtype="str")
    lapsed = np.arange(len(scores)) % 10 == 0
    scores["status"] = pd.Series(np.where(lapsed, "lapsed", "scored"), dtype="str")
    scores.loc[lapsed, [c for c in scores.columns if c.startswith("pred_")]] = np.nan
    scores["tier"] = scores["tier"].astype("object").where(~lapsed, None)

    def best(run: Any) -> float:
        times = []
        for _ in range(repeat):
            c0 = time.process_time()
            run()
            times.append(time.process_time() - c0)
        return min(times)

    return {
        "customers": float(len(scores)),
        "check_scores_cpu_seconds": best(lambda: check_scores(scores, 365)),
        "check_ids_cpu_seconds": best(lambda: check_ids(scores, "customer_id", "scores", "")),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows to explain (and to fit on)")
    parser.add_argument("--trees", type=int, default=300, help="trees per model")
    parser.add_argument("--shap-rows", type=int, default=None, help="rows to time shap on (default: --rows)")
    parser.add_argument(
        "--report-customers", type=int, default=100_000, help="customers in the report bench (0: skip)"
    )
    parser.add_argument(
        "--report-managers", type=int, default=200, help="account managers in the report bench"
    )
    args = parser.parse_args(argv)
    if args.shap_rows is None or args.shap_rows > args.rows:
        args.shap_rows = args.rows
    return args


def main(argv: list[str] | None = None) -> list[ExplainTiming]:
    args = parse_args(argv)
    print(f"JIT compile or cache load (one-time, excluded below): {warm_up_jit():.2f} s")
    print(f"cores: {os.cpu_count()}; load average now {os.getloadavg()[0]:.1f}")
    frame, y_value, y_binary = make_dataset(args.rows)
    start = time.perf_counter()
    models = fit_models(frame, y_value, y_binary, args.trees)
    print(
        f"fit {len(models)} models x {args.trees} trees on {args.rows:,} rows: {time.perf_counter() - start:.1f} s"
    )
    timings = [benchmark_model(name, model, frame, args.shap_rows) for name, model in models.items()]
    for timing in timings:
        print_timing(timing)
    if args.report_customers:
        r = bench_reports(args.report_customers, args.report_managers)
        print(
            f"reports: {int(r['customers']):,} customers, {int(r['managers'])} managers -> {int(r['pages'])} pages "
            f"({r['megabytes']:.0f} MB) in {r['reports_seconds']:.1f} s wall, {r['reports_cpu_seconds']:.1f} s CPU "
            f"(bar: 120 s)"
        )
    return timings


if __name__ == "__main__":
    main()
