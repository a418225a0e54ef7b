"""`bench/ranking.py` on hand-made predictions: the like-for-like scores and the top-fifth difference.

Ten customers at one fold cutoff: our value ranks the old slow customers first, BG/NBD the young frequent ones;
the tables must say which customers each model alone puts in its top fifth, and score our churn model's P(buys)
(1 - churn) and BG/NBD's 1 - P(no purchase) for "buys again".
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from models import metrics as mt

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_ranking", ROOT / "bench" / "ranking.py")
ranking = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ranking)

CUT = pd.Timestamp("2011-09-01")
IDS = [f"c{i}" for i in range(10)]
ACTUAL = np.array([50.0, 0.0, 30.0, 0.0, 10.0, 0.0, 5.0, 0.0, 400.0, 300.0])
OURS = np.array([90.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0, 10.0, 5.0])  # c0, c1 on top
BTYD = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 90.0, 80.0])  # c8, c9 on top
CHURN = np.array([0.2, 0.9, 0.3, 0.8, 0.4, 0.7, 0.5, 0.6, 0.1, 0.1])
NO_PURCHASE = np.array([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.2, 0.9])


def _preds() -> pd.DataFrame:
    parts = []
    for model, value, churn in (
        ("model", OURS, CHURN),
        ("btyd_no_purchase", BTYD, NO_PURCHASE),
        ("persistence", OURS[::-1].copy(), CHURN),
    ):
        parts.append(
            pd.DataFrame(
                {
                    "fold": 0,
                    "model": model,
                    "customer_id": IDS,
                    "cutoff": CUT,
                    "pred_value": value,
                    "pred_churn_prob": churn,
                    "actual_value": ACTUAL,
                    "actual_churned": (ACTUAL <= 0).astype(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def test_scores_are_read_like_for_like():
    table = ranking.score_table(_preds())
    bought = (ACTUAL > 0).astype(float)
    auc = table[("auc_buys", "2011-09")]
    assert auc["ours: churn P(buys)"] == mt.roc_auc(bought, 1.0 - CHURN)
    assert auc["BG/NBD: 1 - P(no purchase)"] == mt.roc_auc(bought, 1.0 - NO_PURCHASE)
    assert auc["ours (value)"] == mt.roc_auc(bought, OURS)
    top = table[("top20", "2011-09")]
    assert top["BG/NBD + GG"] == mt.top_share_capture(ACTUAL, BTYD) == 700.0 / 795.0
    assert top["ours (value)"] == 50.0 / 795.0


def test_top_fifth_difference_names_who_each_model_alone_picks():
    feats = pd.DataFrame(
        {
            "customer_id": IDS,
            "cutoff": CUT,
            "tenure_days": [400.0, 300.0] + [200.0] * 6 + [60.0, 90.0],
            "recency_days": [50.0, 70.0] + [30.0] * 6 + [5.0, 15.0],
            "orders_count_lifetime": [3.0, 2.0] + [2.0] * 6 + [4.0, 6.0],
            "orders_gap_mean_days": [120.0, 200.0] + [50.0] * 6 + [20.0, 12.0],
        }
    )
    out = ranking.top_fifth_difference(_preds(), feats)
    bg, ours = out.loc[("2011-09", "BG/NBD only")], out.loc[("2011-09", "ours only")]
    assert bg["customers"] == ours["customers"] == 2
    assert bg["median tenure d"] == 75.0 and ours["median tenure d"] == 350.0
    assert bg["median days between orders"] == 16.0 and ours["median days between orders"] == 160.0
    assert bg["horizon value"] == 700.0 and ours["horizon value"] == 50.0
    assert bg["bought in horizon"] == 1.0 and ours["bought in horizon"] == 0.5


def test_gap_noise_names_the_decisive_customer_and_the_gap_without_them():
    out = ranking.gap_noise(_preds(), draws=50)
    top = out.loc[("2011-09", "top20")]
    # Of the customers only one model puts in its top fifth (c0, c1 ours; c8, c9 BG/NBD's), c8 brought the most.
    assert top["decisive customer"] == "c8"
    assert top["their value"] == 400.0 and top["their share"] == 400.0 / 795.0
    assert top["their rank ours"] == 9.0 and top["their rank baseline"] == 1.0
    assert top["ours - baseline"] == mt.top_share_capture(ACTUAL, OURS) - mt.top_share_capture(ACTUAL, BTYD)
    keep = np.arange(10) != 8
    assert top["without them"] == (
        mt.top_share_capture(ACTUAL[keep], OURS[keep]) - mt.top_share_capture(ACTUAL[keep], BTYD[keep])
    )
    auc = out.loc[("2011-09", "auc_buys_value")]
    assert auc["ours - baseline"] == mt.buys_again_auc(ACTUAL, OURS) - mt.buys_again_auc(ACTUAL, BTYD)
    assert top["bootstrap sd"] > 0 and 0.0 <= top["share ours ahead"] < 1.0
    pd.testing.assert_frame_equal(out, ranking.gap_noise(_preds(), draws=50))  # seeded
    rho = ranking.gap_noise(_preds(), draws=20, baseline="persistence", metrics=("spearman",))
    assert rho.loc[("2011-09", "spearman"), "ours - baseline"] == (
        mt.spearman(ACTUAL, OURS) - mt.spearman(ACTUAL, OURS[::-1])
    )
