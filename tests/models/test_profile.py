"""The ideal-customer profile and payback (models/profile.py, models/payback.py) on small hand-computed tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from features.registry import FeatureSpec
from models.payback import acquisition_costs, channel_payback, customer_payback
from models.profile import (
    NOT_RECORDED,
    ProfileConfig,
    attribute_profile,
    behaviour_separation,
    best_tier,
    lookalike_counts,
    profile_match,
    wilson_interval,
)
from tests.settings import override

H = 365
VALUE = f"pred_expected_net_value_{H}d"


def _config(**kw: object) -> ProfileConfig:
    base = {
        "attributes": ("segment", "region", "missing_column"),
        "min_support": 3,
        "confidence": 0.95,
        "match_min_attributes": 1,
        "behaviour_top": 5,
        "acquisition_cost_by_channel": {"web": 100.0},
    }
    return override("profile", **(base | kw))


def _scores() -> pd.DataFrame:
    # 10 scored customers (4 great: c1-c4), one not scored (c11).
    tiers = ["great"] * 4 + ["good"] * 4 + ["problem"] * 2 + [""]
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(1, 12)],
            "status": ["scored"] * 10 + ["no_orders_yet"],
            "tier": tiers,
            "account_manager_id": ["m1", "m1", "m2", "m2", "m1", "m1", "m2", "m2", "m1", "", "m2"],
            VALUE: [500.0, 400.0, 300.0, 200.0, 100.0, 50.0, 20.0, 10.0, -10.0, -50.0, np.nan],
        }
    ).astype({"customer_id": "str", "status": "str", "tier": "str", "account_manager_id": "str"})


def _customers() -> pd.DataFrame:
    # B2B: c1, c2, c3, c5 (3 of 4 great); B2C: c4, c6, c7, c8, c9; c10 without a segment.
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(1, 12)],
            "segment": ["B2B", "B2B", "B2B", "B2C", "B2B", "B2C", "B2C", "B2C", "B2C", None, "B2B"],
            "region": ["N", "S", "N", "S", "N", "S", "N", "S", "N", "S", "N"],
            "acquisition_channel": [
                "web",
                "web",
                "event",
                "event",
                "web",
                "web",
                None,
                "event",
                "web",
                "web",
                "event",
            ],
            "acquisition_cost": [np.nan, 50.0, 200.0, np.nan, 80.0, np.nan, 30.0, 10.0, np.nan, 40.0, 500.0],
        }
    )


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson_interval(np.array([5, 0, 10]), np.array([10, 10, 0]), 0.95)
    # Wilson 95% for 5/10: 0.2366 .. 0.7634; for 0/10: 0 .. 0.2775; n = 0: undefined.
    np.testing.assert_allclose(low[:2], [0.236593, 0.0], atol=1e-6)
    np.testing.assert_allclose(high[:2], [0.763407, 0.277533], atol=1e-6)
    assert np.isnan(low[2]) and np.isnan(high[2])


def test_best_tier_is_the_top_of_the_tier_order() -> None:
    assert best_tier() == "great"


def test_attribute_profile_counts_shares_lifts_and_support() -> None:
    who = attribute_profile(_scores(), _customers(), _config())
    seg = who[who["attribute"] == "segment"].set_index("value")
    # Base: 4 great of 10 scored = 0.4. B2B: c1, c2, c3, c5 -> 3/4; B2C: c4, c6, c7, c8, c9 -> 1/5; c10 not recorded.
    assert seg.loc["B2B", ["customers", "great"]].tolist() == [4, 3]
    assert seg.loc["B2C", ["customers", "great"]].tolist() == [5, 1]
    assert seg.loc[NOT_RECORDED, ["customers", "great"]].tolist() == [1, 0]
    assert seg.loc["B2B", "share_great"] == pytest.approx(0.75)
    assert seg.loc["B2B", "lift"] == pytest.approx(0.75 / 0.4)
    assert seg.loc["B2C", "lift"] == pytest.approx(0.2 / 0.4)
    low, high = wilson_interval(np.array([3]), np.array([4]), 0.95)
    assert seg.loc["B2B", "share_low"] == pytest.approx(low[0])
    assert seg.loc["B2B", "lift_high"] == pytest.approx(high[0] / 0.4)
    # Support: min_support 3, so the one unrecorded customer is marked, never part of the profile.
    assert not seg.loc[NOT_RECORDED, "supported"] and seg.loc["B2B", "supported"]
    # Every scored customer is counted once per attribute; the not-scored customer is not.
    assert who.groupby("attribute")["customers"].sum().tolist() == [10, 10]
    assert "missing_column" not in set(who["attribute"])
    # Segment separates great customers (3/4 vs 1/5); region not at all (N: c1, c3, c5, c7, c9 -> 2/5; S -> 2/5).
    reg = who[who["attribute"] == "region"].set_index("value")
    assert reg["lift"].tolist() == pytest.approx([1.0, 1.0])
    assert reg["strength"].iloc[0] == pytest.approx(0.0)
    assert seg["rank"].iloc[0] == 1 and reg["rank"].iloc[0] == 2
    # Rows within an attribute: highest lift first.
    assert list(seg.index) == ["B2B", "B2C", NOT_RECORDED]


def test_profile_value_needs_the_lower_bound_above_the_base() -> None:
    scores = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(100)],
            "status": "scored",
            "tier": ["great"] * 30 + ["good"] * 70,
            "account_manager_id": "m",
        }
    )
    # A: 30 customers, 25 great (share 0.83, Wilson low 0.66 > base 0.3). B: 70 customers, 5 great.
    customers = pd.DataFrame(
        {"customer_id": scores["customer_id"], "segment": ["A"] * 25 + ["B"] * 70 + ["A"] * 5}
    )
    who = attribute_profile(scores, customers, _config(attributes=("segment",)))
    assert who.set_index("value")["profile_value"].to_dict() == {"A": True, "B": False}
    match = profile_match(scores, customers, who, _config(attributes=("segment",)))
    # Lookalikes: the 5 customers in segment A who are not great.
    assert match["lookalike"].sum() == 5
    assert match.loc[match["lookalike"], "customer_id"].tolist() == [f"c{i}" for i in range(95, 100)]


def test_lookalike_counts_by_manager_and_status() -> None:
    scores, customers = _scores(), _customers()
    cfg = _config(attributes=("segment",), min_support=1)
    who = attribute_profile(scores, customers, cfg)
    # Counting is tested here, not the profile rule: B2B is made the one profile value.
    who["profile_value"] = False
    who.loc[(who["attribute"] == "segment") & (who["value"] == "B2B"), "profile_value"] = True
    match = profile_match(scores, customers, who, cfg)
    # Non-great B2B customers: c5 (m1, scored) and c11 (m2, not scored yet).
    assert set(match.loc[match["lookalike"], "customer_id"]) == {"c5", "c11"}
    counts = lookalike_counts(match)
    expected = pd.DataFrame(
        {
            "account_manager_id": ["", "m1", "m2", "m2"],
            "status": ["scored", "scored", "no_orders_yet", "scored"],
            "customers": [1, 3, 1, 2],
            "lookalikes": [0, 1, 1, 0],
        }
    )
    pd.testing.assert_frame_equal(counts, expected, check_dtype=False)


def test_behaviour_separation_ranks_by_auc_and_skips_profile_features() -> None:
    ids = pd.Index([f"c{i}" for i in range(1, 11)], name="customer_id")
    great = pd.Series([True] * 4 + [False] * 6, index=ids)
    features = pd.DataFrame(
        {
            "referrals": [
                3.0,
                2.0,
                5.0,
                4.0,
                0.0,
                1.0,
                0.0,
                0.0,
                1.0,
                0.0,
            ],  # perfectly higher for great: AUC 1
            "tickets": [1.0, 5.0, 2.0, 6.0, 3.0, 4.0, 2.0, 5.0, 1.0, 3.0],  # mixed
            "profile_segment": pd.Categorical(["B2B"] * 10),
            "profile_score": [1.0] * 4 + [0.0] * 6,  # numeric but a profile feature: not behaviour
        },
        index=ids,
    )
    registry = {
        "referrals": FeatureSpec("referrals", "referral", "Referrals made", "count", "{value}"),
        "tickets": FeatureSpec("tickets", "service_effort", "Tickets", "count", "{value}"),
        "profile_score": FeatureSpec("profile_score", "profile", "Score", "", "{value}"),
    }
    out = behaviour_separation(features, great, registry, top=5)
    assert out["feature"].tolist() == ["referrals", "tickets"]
    # One feature per group first: a second referral feature, more separating than tickets, comes after them.
    more = features.assign(referrals_2=features["referrals"] * 2.0)
    reg = registry | {
        "referrals_2": FeatureSpec("referrals_2", "referral", "Referrals again", "count", "{value}")
    }
    assert behaviour_separation(more, great, reg, top=5)["feature"].tolist() == [
        "referrals",
        "tickets",
        "referrals_2",
    ]
    assert behaviour_separation(more, great, reg, top=1)["feature"].tolist() == ["referrals"]
    assert out.loc[0, "auc"] == pytest.approx(1.0)
    # tickets: great 1, 5, 2, 6 vs rest 3, 4, 2, 5, 1, 3: pairs won 13.5 of 24 (ties half).
    assert out.loc[1, "auc"] == pytest.approx(13.5 / 24)
    assert out.loc[0, "median_great"] == pytest.approx(3.5) and out.loc[0, "median_rest"] == pytest.approx(
        0.0
    )
    assert out.loc[0, "description"] == "Referrals made"
    assert out["rank"].tolist() == [1, 2]


def test_payback_per_customer_and_per_channel_by_hand() -> None:
    scores, customers = _scores(), _customers()
    ids = pd.Index(scores["customer_id"])
    costs = acquisition_costs(customers, ids, {"web": 100.0})
    # Recorded cost wins; a missing one takes the channel table (web 100); event has no table entry.
    assert costs.loc["c1", ["acquisition_cost", "cost_source"]].tolist() == [100.0, "channel table"]
    assert costs.loc["c2", ["acquisition_cost", "cost_source"]].tolist() == [50.0, "recorded"]
    assert np.isnan(costs.loc["c4", "acquisition_cost"]) and costs.loc["c4", "cost_source"] == "unknown"
    assert costs.loc["c7", "acquisition_channel"] == NOT_RECORDED
    realised = pd.Series(
        [100.0, -20.0, 0.0, 10.0, 5.0, 40.0, 0.0, -5.0, 20.0, 10.0, 0.0],
        index=[f"c{i}" for i in range(1, 12)],
    )
    per = customer_payback(scores, realised, costs, VALUE).set_index("customer_id")
    # c1: 100 + 500 = 600 vs 100 -> ratio 6, pays back. c9: 20 - 10 = 10 vs 100 (web table) -> not.
    assert per.loc["c1", "total_profit"] == pytest.approx(600.0)
    assert per.loc["c1", "payback_ratio"] == pytest.approx(6.0)
    assert per["not_paying_back"].dtype == "boolean"
    assert per.loc["c1", "not_paying_back"] is not pd.NA and not per.loc["c1", "not_paying_back"]
    assert bool(per.loc["c9", "not_paying_back"]) is True
    # c4 has no known cost; c11 is not scored: both undecided, with the reason said.
    assert (
        pd.isna(per.loc["c4", "not_paying_back"])
        and per.loc["c4", "payback_note"] == "acquisition cost unknown"
    )
    assert pd.isna(per.loc["c11", "not_paying_back"])
    assert per.loc["c11", "payback_note"] == "not scored (no_orders_yet): no expected value"

    channels = channel_payback(per.reset_index()).set_index("acquisition_channel")
    # event: c3 (200 recorded, 0 + 300), c4 (unknown), c8 (10 recorded, -5 + 10), c11 (500, not scored).
    ev = channels.loc["event"]
    assert ev["customers_won"] == 4 and ev["cost_known"] == 3 and ev["cost_unknown"] == 1
    assert ev["not_scored"] == 1 and ev["judged"] == 2
    assert ev["total_cost"] == pytest.approx(210.0)
    assert ev["realised_profit"] == pytest.approx(-5.0)
    assert ev["expected_profit"] == pytest.approx(310.0)
    assert ev["payback_ratio"] == pytest.approx(305.0 / 210.0)
    # c3: 300 >= 200 pays back; c8: 5 < 10 does not.
    assert ev["share_paying_back"] == pytest.approx(0.5) and ev["not_paying_back"] == 1
    # web: c1 (100 table; 600), c2 (50; 380), c5 (80; 105), c6 (100 table; 90), c9 (100 table; 10), c10 (40; -40).
    web = channels.loc["web"]
    assert web["customers_won"] == 6 and web["judged"] == 6
    assert web["total_cost"] == pytest.approx(470.0)
    assert web["realised_profit"] == pytest.approx(100 - 20 + 5 + 40 + 20 + 10)
    assert web["expected_profit"] == pytest.approx(500 + 400 + 100 + 50 - 10 - 50)
    assert web["payback_ratio"] == pytest.approx((155 + 990) / 470.0)
    # Not paying back: c6 (90 < 100), c9 (10 < 100), c10 (-40 < 40).
    assert web["not_paying_back"] == 3 and web["share_paying_back"] == pytest.approx(0.5)
    # A channel whose only customer has no known cost: sums are unknown, not zero.
    nr = channels.loc[NOT_RECORDED]
    assert nr["customers_won"] == 1 and nr["judged"] == 1  # c7: recorded cost 30, 0 + 20 -> 20 < 30
    assert nr["not_paying_back"] == 1


def test_unknown_costs_are_never_taken_as_zero() -> None:
    scores = _scores()
    costs = acquisition_costs(None, pd.Index(scores["customer_id"]), {})
    assert costs["acquisition_cost"].isna().all() and (costs["cost_source"] == "unknown").all()
    per = customer_payback(scores, pd.Series(0.0, index=scores["customer_id"]), costs, VALUE)
    assert per["not_paying_back"].isna().all()
    channels = channel_payback(per)
    assert channels["judged"].sum() == 0
    assert channels["total_cost"].isna().all() and channels["payback_ratio"].isna().all()


def test_config_rejects_bad_costs_and_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="finite and >= 0"):
        _config(acquisition_cost_by_channel={"web": -1.0})
    with pytest.raises(ValidationError):
        ProfileConfig.model_validate(_config().model_dump() | {"surprise": 1})


def test_payback_of_new_customers_is_judged_provisionally_on_the_lookalike_value_by_hand() -> None:
    # n1, n2: new customers (no main-model value, a lookalike expected value); n3: new without a lookalike score;
    # s1: scored; o1: no_orders_yet (never judged). Every cost is recorded.
    scores = pd.DataFrame(
        {
            "customer_id": ["s1", "n1", "n2", "n3", "o1"],
            "status": ["scored", "new", "new", "new", "no_orders_yet"],
            "tier": ["good", "", "", "", ""],
            "account_manager_id": ["m1"] * 5,
            VALUE: [300.0, np.nan, np.nan, np.nan, np.nan],
            "lookalike_expected_value": [np.nan, 250.0, 40.0, np.nan, np.nan],
        }
    ).astype({"customer_id": "str", "status": "str", "tier": "str", "account_manager_id": "str"})
    customers = pd.DataFrame(
        {
            "customer_id": ["s1", "n1", "n2", "n3", "o1"],
            "acquisition_channel": ["web"] * 5,
            "acquisition_cost": [100.0, 200.0, 80.0, 50.0, 60.0],
        }
    )
    costs = acquisition_costs(customers, pd.Index(scores["customer_id"]), {})
    # n2 ordered once (realised 10); n1, n3 and o1 have no order: no profit figure, which means nothing realised.
    realised = pd.Series([20.0, np.nan, 10.0, np.nan, np.nan], index=["s1", "n1", "n2", "n3", "o1"])
    per = customer_payback(scores, realised, costs, VALUE).set_index("customer_id")
    # n1: 0 + 250 = 250 vs 200 -> pays back, provisionally; n2: 10 + 40 = 50 vs 80 -> does not, provisionally.
    assert per.loc["n1", "expected_profit"] == 250.0 and per.loc["n1", "realised_profit"] == 0.0
    assert per.loc["n1", "payback_ratio"] == pytest.approx(1.25)
    assert bool(per.loc["n1", "not_paying_back"]) is False and bool(per.loc["n2", "not_paying_back"]) is True
    assert per.loc["n2", "total_profit"] == pytest.approx(50.0)
    assert per["payback_provisional"].tolist() == [False, True, True, False, False]
    assert per.loc["n1", "expected_source"] == "lookalike (provisional)"
    assert per.loc["s1", "expected_source"] == "main models"
    assert per.loc["n1", "payback_note"].startswith("provisional: new customer")
    # s1 is judged on the main models' value, never provisionally: 20 + 300 = 320 vs 100.
    assert bool(per.loc["s1", "not_paying_back"]) is False and per.loc["s1", "payback_note"] == ""
    # n3 (no lookalike score) and o1 (not scored) stay undecided, with the reason.
    assert pd.isna(per.loc["n3", "not_paying_back"]) and pd.isna(per.loc["o1", "not_paying_back"])
    assert per.loc["n3", "payback_note"] == "new customer without a lookalike score: no expected value"
    assert per.loc["o1", "payback_note"] == "not scored (no_orders_yet): no expected value"
    web = channel_payback(per.reset_index()).set_index("acquisition_channel").loc["web"]
    # Judged: s1, n1, n2 (two provisionally). Cost 100 + 200 + 80; realised 20 + 0 + 10; expected 300 + 250 + 40.
    assert web["judged"] == 3 and web["judged_provisional"] == 2 and web["not_scored"] == 4
    assert web["total_cost"] == pytest.approx(380.0)
    assert web["realised_profit"] == pytest.approx(30.0) and web["expected_profit"] == pytest.approx(590.0)
    assert web["payback_ratio"] == pytest.approx(620.0 / 380.0)
    assert web["not_paying_back"] == 1 and web["share_paying_back"] == pytest.approx(2 / 3)


def test_profile_inputs_keep_attributes_cost_and_behaviour_features_never_personal_columns() -> None:
    from models.profile import CUSTOMER_PREFIX, customer_inputs, profile_inputs, split_profile_inputs

    customers = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "segment": ["B2B", None, "B2C"],
            "email": ["a@x.org", "b@x.org", "c@x.org"],
            "acquisition_channel": ["web", "event", None],
            "acquisition_cost": [10.0, np.nan, 30.0],
        }
    )
    # The configuration names a personal column: it is never taken.
    part = customer_inputs(customers, ("segment", "email", "absent_column"))
    features = pd.DataFrame(
        {
            "referrals_made_365d": [1, 0, 2],
            "profit_net_lifetime": [100.0, np.nan, -5.0],
            "segment": pd.Categorical(["B2B", None, "B2C"]),  # the profile group: who, not behaviour
            "size_profile": [3.0, 1.0, 2.0],
        },
        index=pd.Index(["c3", "c1", "c4"], name="customer_id"),  # c4: not in the customers table
    )
    registry = {
        "referrals_made_365d": FeatureSpec("referrals_made_365d", "referral", "Referrals made", "count", ""),
        "size_profile": FeatureSpec("size_profile", "profile", "Size", "count", ""),
    }
    out = profile_inputs(features, part, registry)
    assert list(out.columns) == [
        f"{CUSTOMER_PREFIX}segment",
        f"{CUSTOMER_PREFIX}acquisition_channel",
        f"{CUSTOMER_PREFIX}acquisition_cost",
        "referrals_made_365d",
        "profit_net_lifetime",
    ]
    assert out.index.tolist() == ["c3", "c1", "c4"]
    assert out[f"{CUSTOMER_PREFIX}segment"].tolist()[:2] == ["B2C", "B2B"]
    assert out[f"{CUSTOMER_PREFIX}segment"].isna().tolist() == [False, False, True]
    assert out[f"{CUSTOMER_PREFIX}acquisition_channel"].isna().tolist() == [True, False, True]
    np.testing.assert_array_equal(out[f"{CUSTOMER_PREFIX}acquisition_cost"], [30.0, 10.0, np.nan])
    assert out["referrals_made_365d"].dtype == "float64"
    # Split back: the customers part reads like the customers table (missing -> not recorded in the profile).
    cust, feats = split_profile_inputs(out)
    assert list(feats.columns) == ["referrals_made_365d", "profit_net_lifetime"]
    assert cust["customer_id"].tolist() == ["c3", "c1", "c4"]
    ids = pd.Index(["c1", "c3", "c4"])
    costs = acquisition_costs(cust, ids, {"web": 99.0})
    assert costs["acquisition_cost"].tolist()[:2] == [10.0, 30.0] and np.isnan(
        costs.loc["c4", "acquisition_cost"]
    )
    from models.profile import attribute_values

    assert attribute_values(cust, ("segment",), ids)["segment"].tolist() == ["B2B", "B2C", NOT_RECORDED]


def test_the_tables_are_the_same_whatever_order_the_customers_come_in() -> None:
    # `cvp profile` hands the customers in the order of the scores (taken by position, no id lookups); another
    # order, a duplicate or a missing customer goes through the lookups: the tables must be the same.
    scores, customers = _scores(), _customers()
    cfg = _config(min_support=1)
    ids = pd.Index(scores["customer_id"])
    shuffled = customers.iloc[[3, 0, 10, 7, 1, 5, 2, 9, 4, 8, 6, 6]].reset_index(drop=True)  # c7 twice
    who = attribute_profile(scores, customers, cfg)
    pd.testing.assert_frame_equal(attribute_profile(scores, shuffled, cfg), who, check_exact=True)
    pd.testing.assert_frame_equal(
        profile_match(scores, shuffled, who, cfg), profile_match(scores, customers, who, cfg)
    )
    costs = acquisition_costs(customers, ids, {"web": 100.0})
    pd.testing.assert_frame_equal(acquisition_costs(shuffled, ids, {"web": 100.0}), costs, check_exact=True)
    missing = customers[customers["customer_id"] != "c4"].reset_index(drop=True)
    seg = attribute_profile(scores, missing, cfg).set_index(["attribute", "value"])
    assert seg.loc[("segment", NOT_RECORDED), "customers"] == 2  # c10 and the missing c4
    gone = acquisition_costs(missing, ids, {"web": 100.0})
    assert (
        gone.loc["c4", "cost_source"] == "unknown" and gone.loc["c4", "acquisition_channel"] == NOT_RECORDED
    )
    pd.testing.assert_frame_equal(gone.drop(index="c4"), costs.drop(index="c4"), check_exact=True)


def test_align_takes_rows_by_position_only_when_the_ids_are_the_same_in_order() -> None:
    from models.profile import align, same_ids

    ids = pd.Index(["a", "b", "c"], dtype="str")
    assert same_ids(ids, pd.Series(["a", "b", "c"], dtype="object"))
    assert not same_ids(ids, pd.Index(["a", "c", "b"])) and not same_ids(ids, pd.Index(["a", "b"]))
    assert not same_ids(ids, pd.Index(["a", None, "c"]))
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]}, index=pd.Index(["c", "a", "b"]))
    assert align(frame, ids)["x"].tolist() == [2.0, 3.0, 1.0]
    assert align(align(frame, ids), ids)["x"].tolist() == [2.0, 3.0, 1.0]
    partial = align(frame.loc[["c", "a"]], ids)["x"].to_numpy()
    assert partial[0] == 2.0 and np.isnan(partial[1]) and partial[2] == 1.0
