"""Rolling-origin backtest: fold layout, no peeking past a fold's cutoff, tidy output, baselines by hand."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from models.backtest import fold_cutoffs, run_backtest
from models.baselines import PastRateBaseline, PersistenceBaseline
from pipelines.demo import generate_company
from tests.settings import defaults, override

H = 180
AS_OF = pd.Timestamp("2025-06-01")
_LGB = defaults().models.lightgbm.model_dump()  # the value boosters' defaults, the base of both fast settings
FAST = override(
    "models",
    lightgbm={**_LGB, "n_jobs": 1, "n_estimators": 40, "learning_rate": 0.1, "min_child_samples": 20},
    churn_lightgbm={**_LGB, "n_jobs": 1, "n_estimators": 40, "learning_rate": 0.1, "num_leaves": 7},
    backtest_folds=2,
    backtest_step_months=3,
)
LABELS = override("labels", horizon_days=H, n_cutoffs=3, cutoff_step_months=3)
BASELINES = ("persistence", "past_rate") + (("btyd",) if importlib.util.find_spec("models.btyd") else ())


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate_company(800, "2021-01-01", "2025-12-31", 3).tables


def test_fold_cutoffs_are_month_starts_stepping_back():
    cuts = fold_cutoffs(pd.Timestamp("2025-06-15"), 180, 3, 3)
    # 2025-06-15 - 180 days = 2024-12-17 -> month start 2024-12-01, then back 3 months each.
    assert cuts == [pd.Timestamp("2024-06-01"), pd.Timestamp("2024-09-01"), pd.Timestamp("2024-12-01")]


def plant_future(
    tables: dict[str, pd.DataFrame], customer: str, when: pd.Timestamp
) -> dict[str, pd.DataFrame]:
    """A copy of the tables with an absurd order (1e9 revenue) and ticket for `customer` at `when`."""
    out = dict(tables)
    order = tables["orders"].iloc[[0]].copy()
    order["order_id"] = "PLANTED"
    order["customer_id"] = customer
    order["ordered_at"] = when
    order["revenue"] = 1e9
    if "cost" in order.columns:
        order["cost"] = 1.0
    out["orders"] = pd.concat([tables["orders"], order], ignore_index=True)
    ticket = tables["tickets"].iloc[[0]].copy()
    ticket["ticket_id"] = "PLANTED"
    ticket["customer_id"] = customer
    ticket["opened_at"] = when
    ticket["closed_at"] = when + pd.Timedelta(hours=1)
    ticket["effort_minutes"] = 1e6
    out["tickets"] = pd.concat([tables["tickets"], ticket], ignore_index=True)
    return out


def test_fold_never_sees_events_at_or_after_its_cutoff(tables):
    first = fold_cutoffs(AS_OF, H, FAST.backtest_folds, FAST.backtest_step_months)[0]
    base = run_backtest(tables, AS_OF, H, defaults().features, LABELS, FAST, baselines=BASELINES)
    preds = base.predictions[base.predictions["fold"] == 0]
    customer = preds["customer_id"].iloc[0]
    planted = plant_future(tables, customer, first + pd.Timedelta(days=1))
    again = run_backtest(planted, AS_OF, H, defaults().features, LABELS, FAST, baselines=BASELINES)
    preds2 = again.predictions[again.predictions["fold"] == 0]
    key = ["model", "customer_id"]
    a = preds.sort_values(key).reset_index(drop=True)
    b = preds2.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        a[key + ["pred_value", "pred_churn_prob"]], b[key + ["pred_value", "pred_churn_prob"]]
    )
    # The labels did change: the planted order lies in fold 0's horizon.
    changed = (
        b.loc[b["customer_id"] == customer, "actual_value"]
        - a.loc[a["customer_id"] == customer, "actual_value"]
    )
    assert (changed > 1e8).all()


def test_tidy_metrics_and_plot_data(tables):
    res = run_backtest(
        tables, AS_OF, H, defaults().features, LABELS, FAST, baselines=("persistence", "past_rate")
    )
    assert list(res.metrics.columns) == ["fold", "cutoff", "model", "metric", "value"]
    assert set(res.metrics["model"]) == {"model", "persistence", "past_rate"}
    assert set(res.metrics["fold"]) == {0, 1}
    mine = res.metrics[res.metrics["model"] == "model"]
    assert {"value_norm_gini", "value_interval_coverage", "churn_roc_auc", "churn_brier"} <= set(
        mine["metric"]
    )
    # past_rate has no churn score, so no churn metrics and no AUC (buys again) of a purchase probability.
    assert not res.metrics.query("model == 'past_rate'")["metric"].str.startswith("churn").any()
    assert set(res.metrics.query("model == 'past_rate'")["metric"]) & {"auc_buys", "auc_buys_value"} == {
        "auc_buys_value"
    }
    assert {"auc_buys", "auc_buys_value"} <= set(res.metrics.query("model == 'persistence'")["metric"])
    summary = res.summary
    assert (summary["folds"] == 2).all()
    table = res.table(["value_norm_gini"])
    assert table.loc["model", "value_norm_gini"].count("+-") == 1
    assert set(res.gain_curves["model"]) == {"model", "persistence", "past_rate"}
    assert set(res.decile_tables["decile"]) == set(range(1, 11))
    assert set(res.calibration_curves["model"]) == {"model", "persistence"}
    # Our model ranks customers better than chance on this company.
    gini = mine.loc[mine["metric"] == "value_norm_gini", "value"]
    assert (gini > 0.3).all()


def test_candidates_share_folds(tables):
    cands = {"single": FAST, "hurdle": FAST.model_copy(update={"value_model": "hurdle"})}
    res = run_backtest(tables, AS_OF, H, defaults().features, LABELS, FAST, candidates=cands, baselines=())
    assert set(res.metrics["model"]) == {"single", "hurdle"}
    counts = res.predictions.groupby(["fold", "model"]).size().unstack()
    assert (counts["single"] == counts["hurdle"]).all()


def test_persistence_and_past_rate_by_hand():
    train = pd.DataFrame(
        {
            "recency_days": [1.0, 5.0, 200.0, 400.0],
            "tenure_days": [100.0, 100.0, 500.0, 800.0],
            "label_churned_90d": [0, 0, 1, 1],
        }
    )
    frame = pd.DataFrame(
        {
            "profit_net_90d": [100.0, np.nan, -20.0],
            "profit_net_365d": [400.0, 50.0, -20.0],
            "profit_net_lifetime": [730.0, 10.0, np.nan],
            "tenure_days": [365.0, 5.0, 100.0],
            "recency_days": [3.0, 300.0, np.nan],
        },
        index=["a", "b", "c"],
    )
    pers = PersistenceBaseline(90).fit(train).predict(frame)
    assert pers["pred_value"].tolist() == [100.0, 0.0, -20.0]
    churn = pers["pred_churn_prob"].to_numpy()
    # Longer since the last order -> more likely to churn; missing recency is taken as the tenure (100 days).
    assert churn[0] < churn[2] < churn[1]
    # 180 days: no profit_net_180d, the nearest window (90 by log distance 0.69 vs 365 by 0.71) doubled.
    assert PersistenceBaseline(180).fit(
        train.rename(columns={"label_churned_90d": "label_churned_180d"})
    ).predict(frame)["pred_value"].tolist() == [200.0, 0.0, -40.0]
    past = PastRateBaseline(90).fit(train).predict(frame)
    # 730 / 365 * 90 = 180; 10 / max(5, 30) * 90 = 30; missing lifetime profit = 0.
    assert past["pred_value"].tolist() == pytest.approx([180.0, 30.0, 0.0])
    assert past["pred_churn_prob"].isna().all()


class _FakeBTYD:
    """Stands in for models.btyd: fails at one cutoff, else returns outputs keyed by customer."""

    class BTYDFitError(RuntimeError):
        pass

    seen_max: dict[pd.Timestamp, pd.Timestamp] = {}

    @classmethod
    def rfm_summary(
        cls, orders: pd.DataFrame, cutoff: pd.Timestamp, value_col: str = "revenue"
    ) -> pd.DataFrame:
        cls.seen_max[cutoff] = orders["ordered_at"].max()
        if cutoff == pd.Timestamp("2024-02-01"):
            raise cls.BTYDFitError("did not converge")
        return orders.groupby("customer_id").size().rename("frequency").to_frame()

    @classmethod
    def btyd_predict(cls, summary: pd.DataFrame, horizon_days: int, penalizer_coef: float) -> pd.DataFrame:
        f = summary["frequency"].astype(float)
        return pd.DataFrame(
            {
                "expected_purchases": f,
                "prob_alive": 0.5,
                "expected_spend_per_purchase": 10.0,
                "expected_revenue": f * 10.0,
                f"prob_no_purchase_{horizon_days}d": 0.25,
            },
            index=summary.index,
        )


def test_btyd_features_per_cutoff_with_failures_reported(monkeypatch):
    import sys

    import models
    from models.baselines import BTYDBaseline, add_btyd_features

    monkeypatch.setitem(sys.modules, "models.btyd", _FakeBTYD)
    monkeypatch.setattr(models, "btyd", _FakeBTYD, raising=False)
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "a"],
            "ordered_at": pd.to_datetime(["2023-11-05", "2023-12-20", "2024-01-10", "2024-02-15"]),
            "revenue": [1.0, 1.0, 1.0, 1.0],
        }
    )
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "a", "b"],
            "cutoff": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-02-01"]),
            "x": [1.0, 2.0, 3.0, 4.0],
        }
    )
    out, notes = add_btyd_features(frame, {"orders": orders}, 90, 0.1)
    assert list(out.columns) == [
        "customer_id",
        "cutoff",
        "x",
        *[f"btyd_{c}" for c in ("expected_purchases", "prob_alive", "expected_spend", "expected_revenue")],
    ]
    # 2024-01-01: orders strictly before it only -> a has 2, b has none yet (NaN).
    assert out["btyd_expected_purchases"].iloc[:2].tolist()[0] == 2.0
    assert np.isnan(out["btyd_expected_purchases"].iloc[1])
    assert _FakeBTYD.seen_max[pd.Timestamp("2024-01-01")] < pd.Timestamp("2024-01-01")
    # 2024-02-01 failed: NaN and a note, not silence.
    assert out.iloc[2:, 3:].isna().all().all()
    assert len(notes) == 1 and "2024-02-01" in notes[0] and "did not converge" in notes[0]
    base = BTYDBaseline(90).fit(
        pd.DataFrame({"label_revenue_90d": [100.0, 100.0], "label_net_profit_90d": [30.0, 10.0]})
    )
    pred = base.predict(frame.iloc[:1], {"orders": orders})
    # expected revenue 20 x net margin rate 40 / 200; churn = 1 - P(alive).
    assert pred["pred_value"].tolist() == [pytest.approx(4.0)]
    assert pred["pred_churn_prob"].tolist() == [0.5]
    # The fair churn score is BG/NBD's closed-form P(no purchase in the horizon), not exp(-expected purchases).
    fair = BTYDBaseline(90, churn_score="no_purchase").fit(
        pd.DataFrame({"label_revenue_90d": [100.0], "label_net_profit_90d": [30.0]})
    )
    assert fair.predict(frame.iloc[:1], {"orders": orders})["pred_churn_prob"].tolist() == [0.25]


def test_fold_totals_and_bias_table_show_each_folds_total(tables):
    result = run_backtest(tables, AS_OF, H, defaults().features, LABELS, FAST, baselines=("persistence",))
    totals = result.fold_totals
    assert set(totals["model"]) == {"model", "persistence"}
    assert len(totals) == 2 * len(result.fold_cutoffs)
    for (fold, model), part in result.predictions.groupby(["fold", "model"]):
        row = totals[(totals["fold"] == fold) & (totals["model"] == model)].iloc[0]
        assert row["predicted_total"] == pytest.approx(part["pred_value"].sum())
        assert row["actual_total"] == pytest.approx(part["actual_value"].sum())
        assert row["bias"] == pytest.approx(part["pred_value"].sum() / part["actual_value"].sum())
    # The per-fold bias agrees with the tidy metric, and the table puts the folds beside their mean.
    m = result.metrics[result.metrics["metric"] == "value_aggregate_bias"]
    merged = totals.merge(m, on=["fold", "cutoff", "model"])
    np.testing.assert_allclose(merged["bias"], merged["value"])
    table = result.bias_table()
    dates = [c.strftime("%Y-%m-%d") for c in result.fold_cutoffs]
    assert list(table.columns) == [*dates, "mean"]
    np.testing.assert_allclose(table["mean"], table[dates].mean(axis=1))


def test_btyd_baseline_models_margin_where_orders_carry_a_cost():
    """Gamma-Gamma on margin (issue 16): equal purchases and revenue, different costs -> different values."""
    from models.baselines import BTYDBaseline

    rng = np.random.default_rng(3)
    rows = []
    for i in range(300):
        n = 5 if i < 2 else int(rng.geometric(0.35))
        days = np.sort(rng.choice(300, n, replace=False))
        spend = float(rng.gamma(4.0, 25.0))
        for d in days:
            value = spend * float(rng.gamma(20.0, 0.05))
            rows.append((f"c{i:03d}", pd.Timestamp("2023-01-01") + pd.Timedelta(days=int(d)), value))
    orders = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "revenue"])
    # Twin the first two customers' orders: same days, same revenue; c000 buys at 80% margin, c001 at 20%.
    twin = orders[orders["customer_id"] == "c000"].assign(customer_id="c001")
    orders = pd.concat([orders[orders["customer_id"] != "c001"], twin], ignore_index=True)
    cost = np.where(orders["customer_id"] == "c001", 0.8, 0.2) * orders["revenue"]
    with_cost = orders.assign(cost=cost)
    cutoff = pd.Timestamp("2023-11-01")
    frame = pd.DataFrame({"customer_id": ["c000", "c001", "c002"], "cutoff": cutoff})
    labels = pd.DataFrame({"label_revenue_90d": [100.0, 100.0], "label_net_profit_90d": [60.0, 40.0]})

    revenue_based = BTYDBaseline(90).fit(labels).predict(frame, {"orders": with_cost})["pred_value"]
    assert revenue_based.iloc[0] == pytest.approx(revenue_based.iloc[1])  # blind to the cost
    on_margin = BTYDBaseline(90, margin_rate_when_cost_missing=0.3).fit(labels)
    pred = on_margin.predict(frame, {"orders": with_cost})["pred_value"]
    assert pred.iloc[0] > 2.0 * pred.iloc[1] > 0  # 80% vs 20% margin on the same revenue
    # Without a cost column the margin is revenue x the rate: the values equal the revenue-based ones.
    no_cost = BTYDBaseline(90, margin_rate_when_cost_missing=0.3).fit(labels)
    same = no_cost.predict(frame, {"orders": orders})["pred_value"]
    plain = BTYDBaseline(90).fit(labels).predict(frame, {"orders": orders})["pred_value"]
    np.testing.assert_allclose(same.to_numpy(), plain.to_numpy(), rtol=1e-6)


def test_backtest_scores_auc_buys_again_on_each_models_purchase_probability(tmp_path):
    """One hand-made fold through the backtest's scorer and the CSV writer: value and purchase rankings disagree,
    so an `auc_buys` that read the value would be 0, not 1; the CSV keeps both AUCs under their names."""
    from models.backtest import BacktestResult, _score
    from pipelines.backtest_record import write_backtest

    actual = np.array([120.0, 40.0, 0.0, -5.0, 0.0, 60.0])
    churned = (actual <= 0).astype(np.float64)
    pred = pd.DataFrame(
        {
            "pred_value": [10.0, 20.0, 500.0, 300.0, 400.0, 5.0],
            "pred_churn_prob": [0.1, 0.2, 0.8, 0.9, 0.7, 0.3],
        }
    )
    rows, _ = _score(0, pd.Timestamp("2024-06-01"), "model", pred, actual, churned)
    got = {r["metric"]: r["value"] for r in rows}
    assert got["auc_buys"] == pytest.approx(1.0)
    assert got["auc_buys_value"] == pytest.approx(0.0)
    files = write_backtest(BacktestResult(pd.DataFrame(rows), *(pd.DataFrame(),) * 4, []), tmp_path)
    summary = pd.read_csv(files["summary"]).set_index("metric")["mean"]
    assert summary["auc_buys"] == pytest.approx(1.0) and summary["auc_buys_value"] == pytest.approx(0.0)


def test_backtest_writes_a_predicted_vs_actual_total_plot_per_fold(tmp_path):
    """The fold table's plot (issue 16): every fold's predicted and actual total, so a seasonal miss is visible."""
    from models.backtest import BacktestResult
    from pipelines.plots import backtest_plots

    cutoffs = pd.to_datetime(["2024-06-01", "2024-09-01", "2024-12-01"])
    predictions = pd.DataFrame(
        [
            {"fold": k, "cutoff": c, "model": m, "pred_value": p, "actual_value": 50.0 * (k > 0)}
            for k, c in enumerate(cutoffs)
            for m, p in (("model", 40.0 + 10 * k), ("persistence", 30.0))
        ]
    )
    empty = pd.DataFrame()
    result = BacktestResult(empty, predictions, empty, empty, empty, list(cutoffs))
    assert result.fold_totals["bias"].isna().sum() == 2  # the first fold's actual total is 0: no ratio
    files = backtest_plots(result, tmp_path)
    assert files["fold_totals_plot"] == tmp_path / "fold_totals.png"
    assert (tmp_path / "fold_totals.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # No fold data (a backtest that could not run a fold): no plot, no error.
    assert "fold_totals_plot" not in backtest_plots(
        BacktestResult(empty, empty, empty, empty, empty, []), tmp_path
    )
