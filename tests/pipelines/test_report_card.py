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
    assert rows == {"Groups present": "Profit, Tenure", "Groups absent": "none"}
    rows = _manifest(
        {"groups_absent": {"service_effort": "no tickets table", "payment": "no invoices table"}}
    )
    # in a team lead's words (was the raw "service_effort"); the raw name stays beside them in small code
    assert rows["Groups absent"] == "Payment (no invoices table); Service effort (no tickets table)"
    assert _manifest({"groups_absent": ["referral"]})["Groups absent"] == "Referral"
    view = model_card_view(
        {"feature_manifest": {"groups_absent": {"service_effort": "no tickets table"}}}, 365, "EUR"
    )
    assert view["manifest"][0]["items"] == [
        {"words": "Service effort", "name": "service_effort", "why": "no tickets table"}
    ]
