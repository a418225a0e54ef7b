"""The tier's reason on the manager pages is said in plain words, never as the rule with its columns.

Was: every problem customer's row read `problem: cost_to_serve_share (profit_cost_to_serve_365d > 0.5 x
profit_margin_365d)` or `problem: non_positive_value (pred_expected_net_value_365d <= 0)`, a great one's
`great: top 20% of customers by expected net value, churn risk < 0.5` (the demo: 127 of 377 scored customers with
the first, on the pages of account managers who read no feature names).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from models.tiers import GOOD_REASONS, assign_tiers, reason_key
from pipelines.config import load_config
from pipelines.reports import build_reports
from pipelines.reports.phrases import tier_reason_plain
from tests.pipelines.report_fixtures import demo_report_inputs

SETTINGS = load_config()
PHRASES = SETTINGS.report.tier_reasons


def _tiered() -> pd.DataFrame:
    """Customers decided by each problem rule, great ones, good ones for each reason, one with missing inputs."""
    rows = {
        # value, churn, cost to serve, return rate, discount rate, dispute share
        "C00": (-5.0, 0.1, 0.0, 0.0, 0.0, 0.0),  # non_positive_value
        "C01": (50.0, 0.1, 90.0, 0.0, 0.0, 0.0),  # cost_to_serve_share (margin 100)
        "C02": (60.0, 0.1, 0.0, 0.9, 0.0, 0.0),  # return_abuse
        "C03": (70.0, 0.1, 0.0, 0.0, 0.9, 0.0),  # discount_abuse
        "C04": (80.0, 0.1, 0.0, 0.0, 0.0, 0.9),  # dispute_share
        "C05": (900.0, 0.1, 0.0, 0.0, 0.0, 0.0),  # great
        "C06": (800.0, 0.1, 0.0, 0.0, 0.0, 0.0),  # great
        "C07": (10.0, 0.1, 0.0, 0.0, 0.0, 0.0),  # outside the top
        "C08": (20.0, 0.1, 0.0, np.nan, 0.0, 0.0),  # outside the top, a rule unchecked
        "C09": (990.0, 0.9, 0.0, 0.0, 0.0, 0.0),  # churn too high
        "C10": (np.nan, 0.1, 0.0, 0.0, 0.0, 0.0),  # value unknown
        "C11": (950.0, np.nan, 0.0, 0.0, 0.0, 0.0),  # churn unknown
    } | {f"F{i}": (1.0, 0.1, 0.0, 0.0, 0.0, 0.0) for i in range(8)}  # fillers: the top 20% is 4 customers
    columns = [
        "pred_expected_net_value_365d",
        "pred_churn_prob_365d",
        "profit_cost_to_serve_365d",
        "price_return_rate_value_365d",
        "price_discount_rate_365d",
        "payment_dispute_share_lifetime",
    ]
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    frame.index.name = "customer_id"
    frame["profit_margin_365d"] = 100.0
    return assign_tiers(frame, SETTINGS.tiers, horizon_days=365)


def test_every_reason_assign_tiers_writes_has_its_plain_words() -> None:
    reasons = _tiered()["tier_reason"].astype(str)
    keys = {reason_key(r)[0] for r in reasons}
    rules = {rule.name for rule in SETTINGS.tiers.problem_rules}
    assert rules <= keys and {"great", "outside_top", "churn_high", "value_unknown", "churn_unknown"} <= keys
    assert set(GOOD_REASONS) | rules | {"great", "catch_all", "missing_data", "kept"} == set(PHRASES)
    for reason in reasons:
        said = tier_reason_plain(reason, PHRASES)
        assert said, reason
        # no rule or column names, no comparison signs, no bare probabilities
        assert not re.search(r"_|[<>=]|\b0\.\d", said), (reason, said)
    assert tier_reason_plain(reasons["C01"], PHRASES) == PHRASES["cost_to_serve_share"]
    assert tier_reason_plain(reasons["C09"], PHRASES) == PHRASES["churn_high"]
    unchecked = tier_reason_plain(reasons["C08"], PHRASES)  # a return rate missing: not great, and said why
    assert unchecked.endswith(f"({PHRASES['missing_data']})"), unchecked
    kept = "kept good by the stability rule (margin); this run alone says great"
    assert tier_reason_plain(kept, PHRASES) == PHRASES["kept"].format(tier="good", raw="great")
    # text written by someone else is kept as it is; an unknown rule is said as its name in words
    assert tier_reason_plain("High net profit", PHRASES) == "High net profit"
    assert tier_reason_plain("problem: late_payer (x > 1)", PHRASES) == "Late payer"


def test_the_manager_pages_say_the_tier_reason_in_words(tmp_path: Path) -> None:
    data = demo_report_inputs(24, 2, seed=5)
    scores = data["scores"].copy()
    raw = {
        "problem": "problem: cost_to_serve_share (profit_cost_to_serve_365d > 0.5 x profit_margin_365d)",
        "great": "great: top 20% of customers by expected net value, churn risk < 0.5",
        "good": "good: outside the top 20% of customers by expected net value",
    }
    scores["tier_reason"] = scores["tier"].astype(str).map(raw)
    paths = build_reports(
        scores,
        data["value_contrib"],
        data["model_card"],
        tmp_path / "reports",
        SETTINGS.report,
        data["registry"],
        data["customers"],
        data["account_managers"],
    )
    pages = [p.read_text(encoding="utf-8") for p in paths.managers.values()]
    text = "".join(pages)
    for reason in raw.values():
        assert reason not in text
    said = set(re.findall(r'<div class="tier-reason">([^<]*)</div>', text))
    assert said == {PHRASES["cost_to_serve_share"], PHRASES["great"], PHRASES["outside_top"]}
