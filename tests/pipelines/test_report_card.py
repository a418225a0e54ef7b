"""The team page's model card says what a feature manifest holds in words, never a Python dict."""

from __future__ import annotations

from pipelines.reports.card import model_card_view


def _manifest(card_manifest: dict) -> dict[str, str]:
    view = model_card_view({"feature_manifest": card_manifest}, 365, "EUR")
    return {row["key"]: row["value"] for row in view["manifest"]}


def test_absent_groups_are_said_with_their_reason_or_none() -> None:
    # was "Groups absent | {}" on every team page of a company with all its tables, and
    # "{'service_effort': 'no tickets table'}" without them
    rows = _manifest({"groups_present": ["profit", "tenure"], "groups_absent": {}})
    assert rows == {"Groups present": "profit, tenure", "Groups absent": "none"}
    rows = _manifest(
        {"groups_absent": {"service_effort": "no tickets table", "payment": "no invoices table"}}
    )
    assert rows["Groups absent"] == "payment (no invoices table); service_effort (no tickets table)"
    assert _manifest({"groups_absent": ["referral"]})["Groups absent"] == "referral"
