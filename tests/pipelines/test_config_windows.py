"""Rule and carried columns follow `features.windows_days`: `{w_long}` / `{w_short}` placeholders, filled in one
place (`pipelines.config.expand_column`) and checked against the feature registry after filling."""

from __future__ import annotations

import pandas as pd
import pytest

from features.table import build_feature_table
from features.training import build_training_set
from features.validation import StructuralError
from models.bundle import CustomerValueModel
from models.tiers import assign_tiers, rule_coverage
from pipelines.config import expand_column, load_config
from pipelines.demo import generate_company

WINDOWS = {"features": {"windows_days": [30, 180]}}


def test_expand_column_fills_windows_and_keeps_or_fills_the_horizon():
    assert expand_column("profit_margin_{w_long}d", (30, 90, 180)) == "profit_margin_180d"
    assert expand_column("orders_count_{w_short}d", (30, 90, 180)) == "orders_count_30d"
    assert (
        expand_column("pred_value_{h}d", (30, 180)) == "pred_value_{h}d"
    )  # the model's horizon fills it later
    assert expand_column("pred_value_{h}d", (30, 180), 90) == "pred_value_90d"
    with pytest.raises(ValueError, match="unknown placeholder 'w_lng'.*w_long"):
        expand_column("profit_net_{w_lng}d", (30, 180))


def test_default_rules_and_carried_features_follow_the_windows():
    cfg = load_config(overrides=WINDOWS)
    columns = [c for r in (*cfg.tiers.problem_rules, *cfg.tiers.flag_rules) for c in r.columns(365)]
    assert "profit_cost_to_serve_180d" in columns and "price_promo_order_share_180d" in columns
    assert not [c for c in columns if c.endswith("_365d") and not c.startswith("pred_")]
    carried = cfg.carried_features()
    assert "profit_net_180d" in carried and "service_effort_hours_180d" in carried
    assert not [c for c in carried if "365d" in c]
    # Every feature column a rule reads is carried, so scoring keeps what the tiers need.
    assert {c for c in columns if not c.startswith("pred_")} <= set(carried)
    # With the default windows, the carried columns are the ones scoring has always carried.
    assert load_config().carried_features() == (
        "profit_net_365d",
        "profit_margin_365d",
        "profit_cost_to_serve_365d",
        "profit_revenue_share_365d",
        "service_effort_hours_365d",
        "price_return_rate_value_365d",
        "price_discount_rate_365d",
        "price_promo_order_share_365d",
        "payment_dispute_share_lifetime",
        "relationship_manager_departed_90d",
    )


def test_unknown_placeholder_and_impossible_carried_column_fail_the_config_check():
    with pytest.raises(StructuralError, match="unknown placeholder 'window'"):
        load_config(overrides={"tiers": {"value_column": "pred_value_{window}d"}})
    with pytest.raises(StructuralError, match="scoring.carry_features: column 'profit_net_365d'"):
        load_config(overrides=WINDOWS | {"scoring": {"carry_features": ["profit_net_365d"]}})


@pytest.mark.slow
def test_tiers_and_flags_on_a_model_trained_with_other_windows():
    fast = {"n_estimators": 60, "num_leaves": 15, "min_child_samples": 20}
    cfg = load_config(
        overrides=WINDOWS
        | {
            "labels": {"n_cutoffs": 3, "cutoff_step_months": 2},
            "models": {"lightgbm": fast, "churn_lightgbm": fast | {"num_leaves": 7}},
        }
    )
    h = cfg.labels.horizon_days
    tables = generate_company(600, "2021-01-01", "2024-12-31", 5).tables
    as_of = pd.Timestamp("2024-07-01")
    model = CustomerValueModel(h, cfg.models, cfg.features, cfg.labels).fit(
        build_training_set(tables, as_of, h, cfg.features, cfg.labels)
    )
    features = build_feature_table(tables, as_of, cfg.features)
    # What scoring hands to the tiers: the predictions and the carried feature columns.
    frame = model.predict(features).join(features[list(cfg.carried_features())])
    out = assign_tiers(frame, cfg.tiers, h)
    assert out.attrs["skipped_rules"] == ()
    coverage = rule_coverage(frame, cfg.tiers, h).set_index("rule")
    assert coverage["applied"].all()
    assert set(out["tier"].astype(str)) == {"problem", "good", "great"}
    reasons = out["tier_reason"].astype(str)
    assert reasons.str.contains("profit_cost_to_serve_180d").any()  # a window-dependent problem rule fired
    flags = set(";".join(out["flags"]).split(";")) - {""}
    assert {"promo_abuse", "return_abuse"} <= flags


class _ModelSettings:
    """What `resolve_settings` reads of a registered model: its own feature and label settings."""

    def __init__(self, cfg):
        self.feature_config, self.label_config = cfg.features, cfg.labels

    def contract_settings(self):
        features, labels = self.feature_config, self.label_config
        return {
            "features": features.model_dump(mode="json"),
            "labels": labels.model_dump(mode="json"),
            "mapping_digest": None,
            "data": {},
        }


def test_scoring_fills_the_rules_for_the_models_windows_not_the_runs_config():
    """A 30/90/365-day model scored with `--config` windows [30, 180]: the features are the model's, and so must
    be the columns its tier rules and carried features read (was: `{w_long}` filled with 180, so six default rules
    named `..._180d` features the model lacked and were skipped with a note; fewer problem customers, exit 0)."""
    from pipelines.engines.scoring import resolve_settings

    model_cfg, run_cfg = load_config(), load_config(overrides=WINDOWS)
    effective, diffs, _ = resolve_settings(_ModelSettings(model_cfg), run_cfg, None, strict=False)
    assert effective.features == model_cfg.features
    assert effective.tiers == model_cfg.tiers
    assert effective.carried_features() == model_cfg.carried_features()
    assert any(d.startswith("features.windows_days") for d in diffs)
    # the run's own policy stays: a threshold the run's config changed is kept, filled for the model's windows
    tuned = load_config(overrides=WINDOWS | {"tiers": {"great": {"top_share": 0.7}}})
    assert resolve_settings(_ModelSettings(model_cfg), tuned, None, False)[0].tiers.great.top_share == 0.7


def test_a_rule_column_the_models_windows_cannot_have_is_refused():
    rule = {"name": "heavy_180", "column": "profit_cost_to_serve_180d", "op": ">", "threshold": 10.0}
    run_cfg = load_config(overrides=WINDOWS | {"tiers": {"problem_rules": {"extend": [rule]}}})
    with pytest.raises(
        StructuralError, match=r"(?s)does not fit the model's features.*profit_cost_to_serve_180d"
    ):
        run_cfg.with_model_settings(load_config().features, load_config().labels)
