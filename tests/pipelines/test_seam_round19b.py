"""Round 19 of the train/score seam, second hunter (the first is `test_seam_round19.py`): what still let a wrong
result through with exit 0, or two paths that should agree did not.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import pandas as pd


def test_a_move_made_by_new_tier_rules_alone_is_said_beside_the_customer():
    """Two history runs under other tier rules (`tiers.great.top_share` 0.2 -> 0.3, the rating cut points moved):
    a good customer who became great only by the wider top, and so crossed the at-risk alert (great only), was
    listed under "Great customers newly at risk" with a churn driver as the reason (was: "net profit in the last
    90 days: +7 churn points", the demo company's C000170, 26% -> 40%), as if the customer had got worse; a good
    customer made a problem and a rating raised by the rules alone likewise. The last run's rules applied to this
    run's figures (`prev_rules_*`, `pipelines.history_rules.tiers_under_previous_rules`) now say it beside each; a move
    the customer's own figures made is told as before."""
    from models.tiers import TIER_NAMES
    from pipelines.config import load_config
    from pipelines.reports.actions import HistoryReport, manager_actions, team_history

    cfg = load_config()
    ids = ["R1", "D1", "P1", "U1", "N1", "X1", "X2", "Q1"]
    moves = pd.DataFrame(
        {
            "presence": "both",
            "old_status": "scored",
            "old_tier": ["good", "good", "good", "great", "good", "great", "good", "problem"],
            "new_tier": ["great", "great", "problem", "great", "problem", "great", "great", "great"],
            "old_rating": ["B", "B", "B", "B", "B", "B", "B", "D"],
            "new_rating": ["B", "B", "C", "A", "C", "B", "B", "D"],
            "old_churn_prob": [0.26, 0.3, 0.1, 0.1, 0.1, 0.2, 0.4, 0.4],
            "new_churn_prob": [0.4, 0.34, 0.1, 0.1, 0.1, 0.55, 0.4, 0.4],
            "value_change": [-8.0, 35.0, -5.0, 20.0, -6.0, -1.0, 2.0, 3.0],
            "old_flags": "",
            "churn_delta_1": ["net profit: +7 churn points", "returns: +3 churn points", "", "", ""]
            + ["returns: +35 churn points", "", ""],
            "value_delta_1": ["", "", "refunds: -3 EUR", "", "refunds: -4 EUR", "", "", ""],
            # the last run's rules on this run's figures: R1 good (no alert), D1 great with the alert (its data),
            # P1 good (the new problem threshold alone), U1 rated B (the new cut points alone), N1 a problem;
            # X1 (review V: great last run, churn 0.2 -> 0.55): good, its own risk over the old churn line (0.5);
            # X2: good with the alert (the old at_risk covered good customers); Q1 a problem, no alert
            "prev_rules_tier": ["good", "great", "good", "great", "problem", "good", "good", "problem"],
            "prev_rules_rating": ["B", "B", "C", "B", "C", "B", "B", "D"],
            "prev_rules_flags": ["", "at_risk", "", "", "", "", "at_risk", ""],
        },
        index=pd.Index(ids, name="customer_id"),
    )
    history = HistoryReport(
        moves,
        "2025-12-01",
        [],
        [str(g) for g in cfg.tiers.rating.grades()],
        rules_changed="the rules changed",
    )
    page = pd.DataFrame(
        {
            "customer_id": ids,
            "customer_name": ids,
            "manager": "AM1",
            "flags": ["at_risk", "at_risk", "", "", "", "at_risk", "at_risk", "at_risk"],
            "tier_reason": ["", "", "problem: return_abuse (x)", "", "problem: return_abuse (x)", "", "", ""],
        }
    )
    report_cfg = cfg.report.model_copy(update={"currency": cfg.data.currency})
    month = manager_actions(history, page, report_cfg)
    why = {(g["key"], r["customer_id"]): r["why"] for g in month["groups"] for r in g["rows"]}
    rules = "only by the new tier rules: under the last run's rules "
    assert why[("at-risk", "R1")].startswith(rules + "they would be good, without this alert; net profit")
    assert why[("at-risk", "D1")] == "returns: +3 churn points"  # its own figures: as before
    assert why[("became-problem", "P1")].startswith(rules + "they would still be good; ")
    assert rules not in why[("became-problem", "N1")]
    assert why[("thank-you", "U1")] == f"rating B → A, {rules}it would still be B"
    # only where the last run's rules give the tier and no alert the customer had last run (was: X1 and X2 said
    # "they would be good, without this alert"; Q1 "they would be problem")
    assert why[("at-risk", "X1")] == "returns: +35 churn points"
    assert rules not in why[("at-risk", "X2")]
    assert why[("at-risk", "Q1")].startswith(rules + "they would be a problem, without this alert")
    # the team page counts by the same check: R1, P1, X2 and Q1 changed tier by the rules alone (X1 did not move)
    assert team_history(history, list(TIER_NAMES), report_cfg)["rules_only"] == 4
    # without the last run's rules on this run (not recorded, or a column not carried): nothing put on the rules
    plain = manager_actions(
        HistoryReport(moves.drop(columns=["prev_rules_tier", "prev_rules_rating", "prev_rules_flags"]), "x"),
        page,
        report_cfg,
    )
    assert not any(rules in r["why"] for g in plain["groups"] for r in g["rows"])


def test_the_last_runs_rules_on_a_runs_own_scores_give_its_raw_tiers(default_scores, tmp_path):
    """`tiers_under_previous_rules` applies a history run's recorded rules (`history_store.tier_rules` of its
    manifest) to a run's scores: on the run's own scores it gives back every scored customer's raw tier, rating and
    flags (the whole base's cut points, as the scoring run took them), so a move it puts on the rules is one the
    rules made. Rules that read a column the previous run's scores carry and this run's do not, or none recorded,
    give None (no move put on the rules); a column neither run carries skips its rule."""
    from pathlib import Path

    from pipelines.config import load_config
    from pipelines.history import tiers_under_previous_rules
    from pipelines.history_store import HistoryRun, tier_rules
    from tests.helpers import scores_manifest

    manifest = scores_manifest(default_scores.out)
    horizon = int(manifest["horizon_days"])
    run = HistoryRun("2024-12-01", "r", "1", horizon, {}, {}, "none", Path("."), tier_rules(manifest))
    scores = pd.read_parquet(default_scores.out)
    cfg = load_config()
    under = tiers_under_previous_rules(run, scores, cfg, horizon)
    scored = scores[scores["status"] == "scored"].set_index("customer_id")
    assert under is not None and len(under) == len(scored) > 0
    assert (under["prev_rules_tier"] == scored["raw_tier"].astype(str)).all()
    assert (under["prev_rules_rating"] == scored["rating"].astype(str)).all()
    assert (under["prev_rules_flags"] == scored["flags"].astype(str)).all()
    carried = next(c for c in scores.columns if c.startswith("price_discount_rate_"))
    lacking = scores.drop(columns=[carried])
    # a rule column the previous run's scores carry and this run's lack: nothing put on the rules
    scores.to_parquet(tmp_path / "scores.parquet")
    had = HistoryRun("2024-12-01", "r", "1", horizon, {}, {}, "none", tmp_path, tier_rules(manifest))
    assert tiers_under_previous_rules(had, lacking, cfg, horizon) is None
    # neither run carries it (an orders-only company's `dispute_share`): its rule skipped, as both runs did (was:
    # None, such a company never told a move the rules made)
    (tmp_path / "scores.parquet").unlink()
    lacking.to_parquet(tmp_path / "scores.parquet")
    both = tiers_under_previous_rules(had, lacking, cfg, horizon)
    assert both is not None and list(both.index) == list(scored.index.astype(str))
    unrecorded = HistoryRun("2024-12-01", "r", "1", horizon, {}, {}, "none", Path("."))
    assert tiers_under_previous_rules(unrecorded, scores, cfg, horizon) is None


def test_a_changed_threshold_of_one_named_rule_is_named_alone():
    """`tiers.flag_rules`' at-risk threshold 0.3 -> 0.15 between two history runs: the warning, the manifest's
    `history_notes` and the team page said `tiers.flag_rules: [{...every rule...}] then [{...}]`, 1,000 characters
    of both lists in which the one change was to be found (was: lists compared as one value). A list of named rules
    is compared rule by rule, by name, and its order as `.order`."""
    from pathlib import Path

    from pipelines.config import load_config
    from pipelines.history import tier_rules_change
    from pipelines.history_store import HistoryRun

    rules = load_config().tiers.model_dump(mode="json")
    rules.pop("stability")
    flags = [dict(r, threshold=0.15) if r["name"] == "at_risk" else r for r in rules["flag_rules"]]
    before = HistoryRun("2025-12-01", "r1", "1", 365, {}, {}, "margin", Path("."), tier_rules=rules)
    said = tier_rules_change(before, rules | {"flag_rules": flags})
    assert said is not None and "(tiers.flag_rules.at_risk.threshold: 0.3 then 0.15)" in said
    swapped = [rules["problem_rules"][1], rules["problem_rules"][0], *rules["problem_rules"][2:]]
    said = tier_rules_change(before, rules | {"problem_rules": swapped})
    assert said is not None and "tiers.problem_rules.order: non_positive_value, cost_to_serve_share, " in said
    # a rule added (or removed): said whole (was: '.order: [...] then [...]' and 'vip.column: None then ...',
    # 'vip.op: None then >', ... filling the five settings shown)
    vip = {"name": "vip", "column": "profit_revenue_share_365d", "op": ">", "threshold": 0.05}
    said = tier_rules_change(before, rules | {"flag_rules": [*rules["flag_rules"], vip]})
    assert said is not None and "(flag rule vip added (profit_revenue_share_365d > 0.05))" in said
    said = tier_rules_change(before, rules | {"flag_rules": rules["flag_rules"][1:]})
    assert said is not None and "(flag rule concentration removed (profit_revenue_share_" in said
    assert tier_rules_change(before, dict(rules)) is None
