"""What a scoring run's manifest says on the pages made of it: the team page's model card notes and the warnings
said atop every page (`cvp report`'s pages and `cvp profile`'s page read them alike)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["run_card_notes"]


def run_card_notes(manifest: Mapping[str, Any], champion_now: str | None = None) -> dict[str, Any]:
    """What a scoring run's manifest adds to the team page's model card (`run_report`): its warnings about the
    model and the data beside the model's figures (the flat churn model, the training's warnings of how it
    scores, a stale model or data, another season, scores of a model not the champion, rows rejected).
    `champion_now`: the registry's champion when the pages are made (the model card's `champion_now_version`;
    None when not known: no store, no version number): scores of a model promoted since are not provisional."""
    notes: dict[str, Any] = {}
    if manifest.get("seasonal_history"):  # issue 16: the totals are extrapolated without a seasonal history
        notes["seasonal_history"] = manifest["seasonal_history"]
    from pipelines.reports.phrases import promoted_since, provisional_label, provisional_scores

    provisional = provisional_scores(manifest, champion_now)
    if provisional:  # scored by a model not the champion: said on every page
        notes["provisional"] = provisional
        notes["provisional_label"] = provisional_label(manifest)  # under evaluation, or set aside
    # ... and the champion since: on the card, no banner
    elif since := promoted_since(manifest, champion_now):
        notes["promoted_since"] = since
    if manifest.get("stale_model"):  # the batch job's warning, on the team page's model card too
        notes["stale_model"] = manifest["stale_model"]
    from pipelines.score_console import flat_churn, unseen_categories

    if flat := flat_churn(manifest):  # the churn model told nobody apart: on the card beside its risks
        notes["flat_churn"] = flat
    if unseen := unseen_categories(manifest):  # customers whose profile the model never saw (round 25)
        notes["unseen_categories"] = unseen
        # the values themselves: each manager's page marks their customers holding one (round 26, was: the team
        # page's card only, no manager told which of their customers the model read as of no region)
        notes["unseen_values"] = manifest["unseen_categories"]
    if manifest.get("input_column_differences"):  # a table or column the model was trained without, and so on
        notes["model_inputs"] = "; ".join(manifest["input_column_differences"])  # (round 25, was: not on it)
    if manifest.get("model_warnings"):  # what the model's training warned of how it scores: on its card too
        notes["model_warnings"] = "; ".join(manifest["model_warnings"])
    from pipelines.history_identity import OTHER_COMPANY_MODEL

    # a model of another company's data (`model_base_note`): among the model's warnings on the card, and atop
    # every page (review of round 24, was: on the team page's card only)
    other = [w for w in manifest.get("model_warnings") or () if w.startswith(OTHER_COMPANY_MODEL)]
    if other:
        notes["other_company_model"] = other[0]
    if manifest.get("model_season"):  # the totals carry another season's correction: said beside them too
        notes["model_season"] = manifest["model_season"]
    if manifest.get("stale_data"):  # data ending well before the as-of: on the card, and atop every page
        notes["stale_data"] = manifest["stale_data"]
    # a table whose export stopped while the orders ran on (`pipelines.data_age.stopped_tables`): on the card, and
    # atop every page (round 25, was: in the console and the manifest only, the pages of the demo's run with its
    # tickets cut half a year early showing 17 of 79 problem customers good or great without a word)
    if manifest.get("stopped_tables"):
        notes["stopped_tables"] = "; ".join(manifest["stopped_tables"])
        from pipelines.data_age import stopped_names

        notes["stopped_names"] = stopped_names(manifest["stopped_tables"])  # the banner's consequence of each
    from pipelines.rejected_rows import rejected_share, rejected_warning

    # rows rejected at loading: the pages are of the rows kept, said on the card and atop every page from
    # `report.rejected_rows_banner_share` of a table's rows (round 24, was: 1,399 of 3,060 customers and 45% of
    # the orders rejected, the pages said nothing of it; then one rejected row of 28,000 atop every page)
    rejected = rejected_warning(manifest, "these scores and pages")
    if rejected:
        notes["rejected_rows"] = rejected
        notes["rejected_rows_share"] = rejected_share(manifest)
    return notes
