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
    (warned,) = _warnings(_manifest(lookalike={"model": False, "note": why, "new_customers": 0}))
    assert warned.startswith("new customers are not scored: " + why)  # was: printed as a note only


def test_no_customer_scored_is_a_warning_with_the_reason_of_each_status():
    manifest = _manifest(customers_scored=0, statuses={"cancelled": 3, "lapsed": 507})
    (warned,) = _warnings(manifest)
    assert warned.startswith("no customer could be scored (no predictions or tiers, statuses only)")
    assert "lapsed: 507 (no order within labels.max_lapse_days before the as-of)" in warned
    assert "cancelled: 3 (customers.churned_at before the as-of)" in warned
