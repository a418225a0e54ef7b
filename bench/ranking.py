"""Benchmark: which prediction each rank metric reads, where BG/NBD + Gamma-Gamma wins, and ranking-score variants.

Usage:
    .venv/bin/python bench/ranking.py [--data demo|online_retail|cdnow] [--cache DIR] [--customers 3000] [--seed 7]
        [--cutoffs monthly|semimonthly]

Runs the `cvp backtest` protocol once (`models.backtest.run_backtest`: our default model, persistence and
BG/NBD + Gamma-Gamma with its closed-form P(no purchase); `--data cdnow`: the held-out file named by CDNOW_MASTER,
read by `bench.objectives.load_cdnow`), caches the per-fold predictions in `--cache`, then
prints per fold:
1. what each metric reads: top-20% capture, Spearman and Gini read the value prediction; "AUC (buys again)" (actual
   net value > 0) is scored on the value prediction and, for comparison, on 1 - the churn model's probability;
2. the customers in BG/NBD's top fifth but not ours, and in ours but not BG/NBD's: count, median tenure, orders
   before the cutoff, recency, days between orders, and what they brought in the horizon;
3. ranking scores built from predictions already made (no refit): the churn model's P(buys) as the AUC score
   (against BG/NBD's own closed-form 1 - P(no purchase in the horizon)), P(buys) x our value, and rank averages of our value with BG/NBD's expected value (weights 0.25 / 0.5).
4. ours - BG/NBD + GG (and ours - persistence) on the rank metrics, the difference's paired-bootstrap spread and the
   one customer who weighs most in the top-fifth disagreement (`gap_noise`).
`--lambdarank N` adds a LightGBM lambdarank score (N rounds); `--gap-features` refits the value model with features
in units of the customer's own inter-purchase time (`with_gap_features`); `--btyd-prior` refits it on the residual
of BG/NBD + GG's expected value (the expectation as a prior, `btyd_prior_scores`). `--cutoffs semimonthly` trains on denser cutoffs: the configured ones plus the midpoint (+15 days) between each
consecutive pair (overlapping examples from the same months; the purged slices still embargo one horizon, by date).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models import metrics as mt  # noqa: E402


def semimonthly(monthly):
    """`features.training.training_cutoffs` with the midpoint (+15 days) between consecutive cutoffs added."""

    def cutoffs(as_of, horizon_days, label_config):
        base = monthly(as_of, horizon_days, label_config)
        mid = [a + pd.Timedelta(days=15) for a, b in zip(base[:-1], base[1:], strict=True)]
        return sorted([*base, *mid])

    return cutoffs


def backtest_predictions(
    data: str, cache: Path, customers: int, seed: int, dense: str = "monthly"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(predictions of model / persistence / btyd_no_purchase, evaluation features) of every fold, cached."""
    import features.training as ft
    from bench.objectives import load_dataset
    from models.backtest import evaluation_rows, run_backtest

    path = cache / f"ranking_{data}_{customers}_{seed}_{dense}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    if dense == "semimonthly":
        ft.training_cutoffs = semimonthly(ft.training_cutoffs)
    tables, cfg, as_of = load_dataset(data, customers, seed)
    h = cfg.labels.horizon_days
    res = run_backtest(
        tables, as_of, h, cfg.features, cfg.labels, cfg.models, baselines=("persistence", "btyd_no_purchase")
    )
    feats = []
    for t in res.fold_cutoffs:
        ev = evaluation_rows(tables, t, h, cfg.features, cfg.labels)
        keep = ["customer_id", "tenure_days", "recency_days"] + [
            c for c in ev.columns if str(c).startswith("orders_")
        ]
        feats.append(ev[[c for c in keep if c in ev.columns]].assign(cutoff=t))
    out = (res.predictions, pd.concat(feats, ignore_index=True))
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out


def lambdarank_scores(data: str, cache: Path, customers: int, seed: int, n_estimators: int) -> pd.DataFrame:
    """(cutoff, customer_id, lambdarank) per evaluation customer: a LightGBM `lambdarank` booster per fold, one
    query per training cutoff, relevance = the decile (0-9) of the horizon's net value within the cutoff (buyers of
    nothing at 0). A ranking score only: the shipped value would stay the regressor's."""
    import lightgbm as lgb

    from bench.intervals import fold_sets
    from models.feature_contract import feature_columns

    sets, cfg = fold_sets(data, cache, customers, seed)
    h = cfg.labels.horizon_days
    out = []
    for t, train, ev in sets:
        train = train.sort_values(["cutoff", "customer_id"], kind="stable")
        cols = feature_columns(train)
        X = train[cols].copy()
        Xe = ev[cols].copy()
        for c in cols:
            if not pd.api.types.is_numeric_dtype(X[c]):
                cats = pd.Index(X[c].astype("str").dropna().unique())
                X[c] = pd.Categorical(X[c].astype("str"), categories=cats)
                Xe[c] = pd.Categorical(Xe[c].astype("str"), categories=cats)
        y = train[f"label_net_profit_{h}d"].to_numpy(np.float64)
        rel = np.zeros(len(train), dtype=int)
        for _, idx in train.groupby("cutoff", sort=True).indices.items():
            v = y[idx]
            pos = v > 0
            if pos.any():
                rel[idx[pos]] = 1 + np.minimum(8, (mt.average_ranks(v[pos]) - 1) * 9 // pos.sum()).astype(int)
        groups = train.groupby("cutoff", sort=True).size().to_numpy()
        ranker = lgb.LGBMRanker(
            objective="lambdarank",
            n_estimators=n_estimators,
            learning_rate=0.05,
            num_leaves=31,
            min_child_samples=50,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=42,
            n_jobs=2,
            verbose=-1,
        ).fit(X, rel, group=groups)
        out.append(
            pd.DataFrame({"cutoff": t, "customer_id": ev["customer_id"], "lambdarank": ranker.predict(Xe)})
        )
    return pd.concat(out, ignore_index=True)


def with_gap_features(frame: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """Scratch features in units of the customer's own inter-purchase time (BG/NBD's t_x, T, x): expected orders
    in the horizon at the own rate, the last 90 days' rate against the lifetime rate, revenue per order x that."""
    gap = frame["orders_gap_mean_days"].astype("float64")
    n = frame["orders_count_lifetime"].astype("float64")
    tenure = frame["tenure_days"].astype("float64").clip(lower=30.0)
    rate = n / tenure
    expected = (horizon_days / gap).where(gap > 0)
    per_order = frame["profit_revenue_lifetime"].astype("float64") / n.where(n > 0)
    return frame.assign(
        gap_expected_orders_h=expected,
        gap_recent_rate_trend=frame["orders_count_90d"].astype("float64") / 90.0 / rate.where(rate > 0),
        gap_recency_in_gaps=frame["recency_days"].astype("float64") / gap.where(gap > 0),
        gap_expected_value_h=per_order * expected.fillna(rate * horizon_days),
    )


def gap_feature_scores(data: str, cache: Path, customers: int, seed: int) -> pd.DataFrame:
    """(cutoff, customer_id, gap_features) per evaluation customer: the default value model with `with_gap_features`."""
    from bench.intervals import fold_sets
    from models.feature_contract import feature_columns
    from models.value import FutureValueModel

    sets, cfg = fold_sets(data, cache, customers, seed)
    h = cfg.labels.horizon_days
    out = []
    for t, train, ev in sets:
        train, ev = with_gap_features(train, h), with_gap_features(ev, h)
        bought = train[f"label_orders_{h}d"].to_numpy() > 0
        model = FutureValueModel(cfg.models).fit(
            train[feature_columns(train)],
            train[f"label_net_profit_{h}d"],
            cutoff=train["cutoff"],
            bought=bought,
            horizon_days=h,
        )
        pred = model.predict(ev[feature_columns(ev)])
        out.append(pd.DataFrame({"cutoff": t, "customer_id": ev["customer_id"], "gap_features": pred}))
    return pd.concat(out, ignore_index=True)


def btyd_prior_scores(data: str, cache: Path, customers: int, seed: int) -> pd.DataFrame:
    """(cutoff, customer_id, btyd_prior) per evaluation customer: the default value model fitted on the residual
    of BG/NBD + GG's expected value (fitted per training cutoff on the orders before it), prediction = BG/NBD's
    expectation + the booster (the prior as a base score; the decomposition stays additive: prior + TreeSHAP).
    Online Retail only as written (net value = revenue there, so the prior is the expected revenue)."""
    from bench.intervals import fold_sets
    from bench.objectives import load_dataset
    from features.training import truncate_tables
    from models.baselines import add_btyd_features
    from models.feature_contract import feature_columns
    from models.value import FutureValueModel

    sets, cfg = fold_sets(data, cache, customers, seed)
    tables, _, _ = load_dataset(data, customers, seed)
    h = cfg.labels.horizon_days
    out = []
    for t, train, ev in sets:
        known = truncate_tables(tables, t)
        prior_tr = add_btyd_features(train, known, h, cfg.models.btyd_penalizer)[0]["btyd_expected_revenue"]
        prior_ev = add_btyd_features(ev, known, h, cfg.models.btyd_penalizer)[0]["btyd_expected_revenue"]
        prior_tr, prior_ev = prior_tr.fillna(0.0).to_numpy(), prior_ev.fillna(0.0).to_numpy()
        y = train[f"label_net_profit_{h}d"].to_numpy(np.float64)
        bought = train[f"label_orders_{h}d"].to_numpy() > 0
        model = FutureValueModel(cfg.models).fit(
            train[feature_columns(train)],
            pd.Series(y - prior_tr, index=train.index),
            cutoff=train["cutoff"],
            bought=bought,
            horizon_days=h,
        )
        pred = prior_ev + model.predict(ev[feature_columns(ev)])
        out.append(pd.DataFrame({"cutoff": t, "customer_id": ev["customer_id"], "btyd_prior": pred}))
    return pd.concat(out, ignore_index=True)


def _rank01(x: np.ndarray) -> np.ndarray:
    return mt.average_ranks(x) / len(x)


#: (column of the evaluation features, threshold below which, weight of our value) of the young-customer blends
YOUNG_BLENDS = (
    ("orders_count_lifetime", 3, 0.5),
    ("orders_count_lifetime", 5, 0.5),
    ("orders_count_lifetime", 5, 0.25),
    ("tenure_days", 120, 0.5),
    ("tenure_days", 180, 0.5),
)


def score_table(
    preds: pd.DataFrame, ranks: pd.DataFrame | None = None, feats: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per fold: the rank metrics of our value, BG/NBD's, persistence's and of the post-hoc ranking scores.

    With `feats` (the evaluation customers' `orders_count_lifetime` and `tenure_days`), also the young-customer
    blends (`YOUNG_BLENDS`): for customers with fewer than N orders (or days of tenure) before the cutoff the value
    is w x ours + (1 - w) x BG/NBD + GG's expected value (both in currency, so the blend is one too; TreeSHAP
    explains only our part), everyone else keeps ours."""
    rows = []
    for cutoff, g in preds.groupby("cutoff", sort=True):
        w = g.pivot(index="customer_id", columns="model", values="pred_value")
        churn = g[g["model"] == "model"].set_index("customer_id")["pred_churn_prob"].reindex(w.index)
        bg_buys = 1.0 - g[g["model"] == "btyd_no_purchase"].set_index("customer_id")["pred_churn_prob"]
        actual = g[g["model"] == "model"].set_index("customer_id")["actual_value"].reindex(w.index).to_numpy()
        ours, bg = w["model"].to_numpy(), w["btyd_no_purchase"].to_numpy()
        p_buy = 1.0 - churn.to_numpy()
        scores = {
            "ours (value)": ours,
            "BG/NBD + GG": bg,
            "persistence": w["persistence"].to_numpy(),
            "ours: churn P(buys)": p_buy,
            "BG/NBD: 1 - P(no purchase)": bg_buys.reindex(w.index).to_numpy(),
            "ours: P(buys) x value": p_buy * np.clip(ours, 0.0, None),
            "rank avg 0.75 ours + 0.25 BG/NBD": 0.75 * _rank01(ours) + 0.25 * _rank01(bg),
            "rank avg 0.5 ours + 0.5 BG/NBD": 0.5 * _rank01(ours) + 0.5 * _rank01(bg),
        }
        if feats is not None:
            f = feats[feats["cutoff"] == cutoff].set_index("customer_id").reindex(w.index)
            for col, n, wt in YOUNG_BLENDS:
                young = f[col].fillna(0.0).to_numpy() < n
                blend = np.where(young, wt * ours + (1 - wt) * bg, ours)
                unit = "orders" if col.startswith("orders") else "days"
                scores[f"< {n} {unit}: {wt:g} ours + {1 - wt:g} BG/NBD + GG (value)"] = blend
        if ranks is not None and "lambdarank" in ranks:
            lr = ranks[ranks["cutoff"] == cutoff].set_index("customer_id")["lambdarank"].reindex(w.index)
            scores["lambdarank (deciles per cutoff)"] = lr.to_numpy()
            scores["rank avg 0.5 ours + 0.5 lambdarank"] = 0.5 * _rank01(ours) + 0.5 * _rank01(lr.to_numpy())
        if ranks is not None and "btyd_prior" in ranks:
            bp = ranks[ranks["cutoff"] == cutoff].set_index("customer_id")["btyd_prior"].reindex(w.index)
            scores["ours on BG/NBD's expectation as a prior: value"] = bp.to_numpy()
        if ranks is not None and "gap_features" in ranks:
            gf = ranks[ranks["cutoff"] == cutoff].set_index("customer_id")["gap_features"].reindex(w.index)
            scores["ours + own-gap features: value"] = gf.to_numpy()
        for name, s in scores.items():
            rows.append(
                {
                    "fold": pd.Timestamp(cutoff).strftime("%Y-%m"),
                    "score": name,
                    "top20": mt.top_share_capture(actual, s),
                    "spearman": mt.spearman(actual, s),
                    "gini": mt.normalized_gini(actual, s),
                    "auc_buys": mt.buys_again_auc(actual, s),
                }
            )
    return pd.DataFrame(rows).pivot(index="score", columns="fold")


def top_fifth_difference(preds: pd.DataFrame, feats: pd.DataFrame) -> pd.DataFrame:
    """Per fold: who is in BG/NBD's top fifth only vs ours only (medians of their history, sum of their horizon)."""
    rows = []
    for cutoff, g in preds.groupby("cutoff", sort=True):
        w = g.pivot(index="customer_id", columns="model", values="pred_value")
        actual = g[g["model"] == "model"].set_index("customer_id")["actual_value"].reindex(w.index)
        k = int(np.ceil(0.2 * len(w)))
        top_ours = set(w["model"].nlargest(k).index)
        top_bg = set(w["btyd_no_purchase"].nlargest(k).index)
        f = feats[feats["cutoff"] == cutoff].set_index("customer_id").reindex(w.index)
        for name, ids in (("BG/NBD only", top_bg - top_ours), ("ours only", top_ours - top_bg)):
            ids = sorted(ids)
            sub = f.loc[ids]
            n_orders = sub["orders_count_lifetime"]
            gap = sub["orders_gap_mean_days"]
            rows.append(
                {
                    "fold": pd.Timestamp(cutoff).strftime("%Y-%m"),
                    "group": name,
                    "customers": len(ids),
                    "median tenure d": float(sub["tenure_days"].median()),
                    "median orders": float(n_orders.median()),
                    "median recency d": float(sub["recency_days"].median()),
                    "median days between orders": float(gap.median()),
                    "one-order share": float((n_orders <= 1).mean()),
                    "horizon value": float(actual.loc[ids].sum()),
                    "bought in horizon": float((actual.loc[ids] > 0).mean()),
                }
            )
    return pd.DataFrame(rows).set_index(["fold", "group"])


#: rank metrics `gap_noise` can compare: name -> metric(actual, score)
GAP_METRICS = {
    "top20": mt.top_share_capture,
    "auc_buys_value": mt.buys_again_auc,
    "spearman": mt.spearman,
    "gini": mt.normalized_gini,
}


def gap_noise(
    preds: pd.DataFrame,
    draws: int = 300,
    seed: int = 0,
    baseline: str = "btyd_no_purchase",
    metrics: tuple[str, ...] = ("top20", "auc_buys_value"),
) -> pd.DataFrame:
    """Per fold and rank metric (`GAP_METRICS`): ours - the baseline (BG/NBD + GG by default), how far that
    difference moves with which customers happen to be in the fold (paired bootstrap of the customers, `draws`
    resamples, seeded: standard deviation and the share of resamples where ours leads), and the customer who weighs
    most in the top-fifth disagreement (the largest horizon value among those only one of the two puts in its top
    fifth): their horizon value, their share of the fold's, their rank under each, and the difference without them."""
    rows = []
    rng = np.random.default_rng(seed)
    for cutoff, g in preds.groupby("cutoff", sort=True):
        w = g.pivot(index="customer_id", columns="model", values="pred_value")
        actual = g[g["model"] == "model"].set_index("customer_id")["actual_value"].reindex(w.index).to_numpy()
        ours, bg = w["model"].to_numpy(), w[baseline].to_numpy()
        k = int(np.ceil(0.2 * len(w)))
        apart = np.setxor1d(np.argsort(-ours, kind="stable")[:k], np.argsort(-bg, kind="stable")[:k])
        one = apart[np.argmax(actual[apart])] if len(apart) else None
        keep = np.ones(len(w), dtype=bool)
        if one is not None:
            keep[one] = False
        samples = [rng.integers(0, len(w), len(w)) for _ in range(draws)]
        for name in metrics:
            fn = GAP_METRICS[name]
            diff = fn(actual, ours) - fn(actual, bg)
            boot = np.array([fn(actual[i], ours[i]) - fn(actual[i], bg[i]) for i in samples])
            rows.append(
                {
                    "fold": pd.Timestamp(cutoff).strftime("%Y-%m"),
                    "metric": name,
                    "ours - baseline": diff,
                    "bootstrap sd": float(np.nanstd(boot)),
                    "share ours ahead": float(np.mean(boot > 0)),
                    "decisive customer": None if one is None else str(w.index[one]),
                    "their value": np.nan if one is None else float(actual[one]),
                    "their share": np.nan if one is None else float(actual[one] / actual.sum()),
                    "their rank ours": np.nan if one is None else float(mt.average_ranks(-ours)[one]),
                    "their rank baseline": np.nan if one is None else float(mt.average_ranks(-bg)[one]),
                    "without them": fn(actual[keep], ours[keep]) - fn(actual[keep], bg[keep]),
                }
            )
    return pd.DataFrame(rows).set_index(["fold", "metric"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("demo", "online_retail", "cdnow"), default="online_retail")
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path(".bench_cache"))
    parser.add_argument("--cutoffs", choices=("monthly", "semimonthly"), default="monthly")
    parser.add_argument(
        "--btyd-prior", action="store_true", help="refit on the residual of BG/NBD's expectation"
    )
    parser.add_argument(
        "--gap-features", action="store_true", help="refit the value model with own-gap features"
    )
    parser.add_argument(
        "--lambdarank", type=int, default=0, help="fit a lambdarank score with this many rounds"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=UserWarning)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 40)
    preds, feats = backtest_predictions(args.data, args.cache, args.customers, args.seed, args.cutoffs)
    print(
        f"== {args.data}, {args.cutoffs} cutoffs: rank metrics per fold and score (load {os.getloadavg()[0]:.1f}) =="
    )
    ranks = None
    if args.lambdarank:
        ranks = lambdarank_scores(args.data, args.cache, args.customers, args.seed, args.lambdarank)
    if args.gap_features:
        ranks = gap_feature_scores(args.data, args.cache, args.customers, args.seed)
    if args.btyd_prior:
        ranks = btyd_prior_scores(args.data, args.cache, args.customers, args.seed)
    print(score_table(preds, ranks, feats).round(3).to_string())
    print("\n== top fifth: BG/NBD + GG only vs ours only ==")
    print(top_fifth_difference(preds, feats).round(2).to_string())
    for base, names in (
        ("btyd_no_purchase", ("top20", "auc_buys_value", "spearman", "gini")),
        ("persistence", ("top20", "spearman", "gini")),
    ):
        print(
            f"\n== ours - {base}: paired bootstrap of the fold's customers, and the most decisive customer =="
        )
        print(gap_noise(preds, baseline=base, metrics=names).round(4).to_string())


if __name__ == "__main__":
    main()
