"""What a scoring run lists under the manifest's `warnings` (what an unattended job alerts on) once its set is
published (`pipelines.score_console.closing_warnings`): an output that is degraded or incomplete is a warning
with its reason, never only a note."""

from __future__ import annotations

from typing import Any

from pipelines.score_console import closing_warnings


def _manifest(**extra: Any) -> dict[str, Any]:
    return {
        "rows": {"orders": {"in": 10, "accepted": 10, "rejected": 0}},
        "customers_scored": 5,
        "statuses": {"scored": 5},
        "drift": {"drifted_features": [], "drifted_predictions": []},
        "lookalike": {"model": True, "new_customers": 0},
        **extra,
    }


def _warnings(manifest: dict[str, Any], skipped: tuple[str, ...] = ()) -> list[str]:
    return [
        text for kind, text in closing_warnings(manifest, list(skipped), 0.2, "m.json") if kind == "warning"
    ]


def test_a_normal_run_has_no_warning():
    assert _warnings(_manifest()) == []


def test_a_bridge_that_cannot_be_split_is_a_warning():
    why = (
        "the model changed since the history's run as of 2024-12-01 (v1 -> v2) but the change cannot be split"
    )
    warned = _warnings(_manifest(bridge={"old_model_version": "1", "note": why}))
    assert warned == [why]  # was: a note, not in `warnings`


def test_tier_rules_skipped_are_a_warning_naming_them():
    rule = "problem:dispute_share (no column payment_dispute_share_lifetime)"
    (warned,) = _warnings(_manifest(), (rule,))
    assert rule in warned and "tiers decided without them" in warned  # was: a note


def test_a_missing_lookalike_model_is_a_warning_with_its_reason():
    why = "the model was registered before it carried a lookalike model"
    (warned,) = _warnings(
        _manifest(
            lookalike={"model": False, "note": why, "early_days": 120, "kept_status": {"no_orders_yet": 4}}
        )
    )
    assert warned.startswith("new customers are not scored: " + why)  # was: printed as a note only


def test_no_customer_scored_is_a_warning_with_the_reason_of_each_status():
    manifest = _manifest(customers_scored=0, statuses={"cancelled": 3, "lapsed": 507})
    (warned,) = _warnings(manifest)
    assert warned.startswith("no customer could be scored (no predictions or tiers, statuses only)")
    assert "lapsed: 507 (no order within labels.max_lapse_days before the as-of)" in warned
    assert "cancelled: 3 (customers.churned_at before the as-of)" in warned


def test_newcomers_left_unscored_are_told_with_the_status_they_keep():
    """Without a lookalike model, the customers in their first weeks keep the status the population rule gave
    them: `lapsed` for some when `labels.max_lapse_days` is shorter than `early_days` (was: "they keep their
    status (no_orders_yet)" whatever it was), counted in the manifest and in the warning."""
    import pandas as pd

    from pipelines.config import load_config
    from pipelines.newcomers import score_newcomers

    as_of = pd.Timestamp("2024-06-01")
    day = pd.Timedelta(days=1)
    ids = pd.Series(["C1", "C2", "C3", "C4"], dtype="str")
    tables = {
        "customers": pd.DataFrame(
            {
                "customer_id": ids,
                "signup_at": [
                    as_of - 90 * day,
                    as_of - 80 * day,
                    as_of - 10 * day,
                    pd.Timestamp("2020-01-01"),
                ],
            }
        ),
        "orders": pd.DataFrame(
            {
                "order_id": pd.Series(["o1", "o2", "o4"], dtype="str"),
                "customer_id": pd.Series(["C1", "C2", "C4"], dtype="str"),
                "ordered_at": [as_of - 85 * day, as_of - 75 * day, as_of - 5 * day],
                "revenue": [10.0, 20.0, 30.0],
            }
        ),
    }
    scores = pd.DataFrame({"customer_id": ids, "status": ["lapsed", "lapsed", "no_orders_yet", "scored"]})

    class Legacy:  # a model registered before it carried a lookalike model
        lookalike_ = None
        lookalike_note_ = "the model was registered before it carried a lookalike model"

    out, info = score_newcomers(scores, tables, as_of, Legacy(), load_config())
    assert list(out["status"]) == ["lapsed", "lapsed", "no_orders_yet", "scored"]
    assert info["kept_status"] == {"lapsed": 2, "no_orders_yet": 1}, info
    (warned,) = _warnings(_manifest(lookalike=info))
    assert "3 customers in their first 120 days keep their status (lapsed 2, no_orders_yet 1)" in warned
    # nobody in their first weeks: nothing is missing, a note and no warning
    old = {k: v[v["customer_id"] == "C4"] for k, v in tables.items()}
    _, info = score_newcomers(scores[scores["customer_id"] == "C4"], old, as_of, Legacy(), load_config())
    assert info["kept_status"] == {} and _warnings(_manifest(lookalike=info)) == []
    notes = [t for k, t in closing_warnings(_manifest(lookalike=info), [], 0.2, "m.json") if k == "note"]
    assert notes and "no customer is in their first 120 days" in notes[0]


def _orders_only_tiers(extra: dict[str, float] | None = None):
    """The tier rules skipped on the features an orders-only company's data makes (no invoices, tickets,
    returns or customers table: the README's minimum), scored with both predictions."""
    import pandas as pd

    from features.registry import feature_registry
    from features.table import compute
    from models.tiers import assign_tiers, rule_inputs
    from pipelines.config import load_config
    from pipelines.score_console import never_fed

    cfg = load_config()
    h = cfg.labels.horizon_days
    day = pd.Timedelta(days=1)
    cutoff = pd.Timestamp("2024-06-01")
    orders = pd.DataFrame(
        {
            "order_id": pd.Series([f"o{i}" for i in range(6)], dtype="str"),
            "customer_id": pd.Series(["C1", "C1", "C2", "C2", "C3", "C3"], dtype="str"),
            "ordered_at": [cutoff - k * 40 * day for k in (1, 3, 2, 5, 1, 8)],
            "revenue": [10.0, 20.0, 30.0, 5.0, 50.0, 8.0],
        }
    )
    features, _ = compute({"orders": orders}, [cutoff], cfg.features)
    frame = features.drop(columns="cutoff").set_index("customer_id")
    frame[cfg.tiers.value_column.format(h=h)] = [100.0, -5.0, 40.0]
    frame[cfg.tiers.great.churn_column.format(h=h)] = [0.1, 0.6, 0.2]
    for col, value in (extra or {}).items():
        frame[col] = value
    skipped = list(assign_tiers(frame, cfg.tiers, h).attrs["skipped_rules"])
    registry = feature_registry(cfg.features)
    unfed = never_fed(skipped, frame.columns, rule_inputs(cfg.tiers, h), registry, True)
    return skipped, unfed, frame, cfg, registry


def test_rules_an_orders_only_company_never_feeds_are_a_note_not_a_warning():
    """The README's minimum, orders only (Online Retail): the invoices, tickets and returns rules can never be
    fed, and the model was trained without them too (its recorded inputs hold scoring data to its training
    data). A note and the manifest's `skipped_rules_never_fed`, no warning (was: a warning on every run, an
    unattended job's alert firing for ever although nothing is degraded)."""
    skipped, unfed, *_ = _orders_only_tiers()
    assert any(r.startswith("problem:dispute_share") for r in skipped), skipped
    assert unfed == skipped  # every rule skipped here reads a feature of a table or column the data has not
    said = closing_warnings(_manifest(skipped_rules_never_fed=unfed), skipped, 0.2, "m.json")
    assert [t for k, t in said if k == "warning"] == []
    (note,) = [t for k, t in said if k == "note"]
    assert "problem:dispute_share" in note and "trained without them too" in note


def test_rules_skipped_against_what_the_config_promises_stay_a_warning():
    """A skip that degrades the run stays a warning: a rule on a column that is no feature (a name mistyped in
    `tiers`), the value prediction missing, or a model without recorded inputs (nothing says it was trained
    without the table)."""
    from models.tiers import rule_inputs
    from pipelines.score_console import never_fed

    skipped, unfed, frame, cfg, registry = _orders_only_tiers()
    h = cfg.labels.horizon_days
    value = cfg.tiers.value_column.format(h=h)
    no_value = frame.drop(columns=value)
    inputs = rule_inputs(cfg.tiers, h)
    typo = {"problem:typo (no column payment_dispute_shares)": ("payment_dispute_shares",)}
    lost = [f"great (no column {value})", f"rating (no column {value})", *typo]
    assert never_fed(lost, no_value.columns, inputs | typo, registry, True) == []
    assert never_fed(skipped, frame.columns, inputs, registry, False) == []
    (warned,) = _warnings(_manifest(skipped_rules_never_fed=unfed[1:]), tuple(skipped))
    assert skipped[0] in warned and "tiers decided without them" in warned
