"""What the score history adds to the reports: "This month's actions" per manager, transitions and tier counts.

Inputs (built by the report job from the history, `pipelines.history`; this module reads frames only):

- `HistoryReport.transitions`: `models.transitions.tier_transitions` between the previous run and this one
  (index `customer_id`; `old_tier`, `new_tier`, `old_rating`, `new_rating`, `old_churn_prob`, `new_churn_prob`,
  `value_change`, `value_delta_1..n`, and `churn_delta_1..n` when both runs wrote churn contributions), plus
  `old_flags` and `old_account_manager_id` of the previous run; None when the history holds no earlier run.
- `HistoryReport.previous_as_of`: that run's as-of; `HistoryReport.runs`: tier counts per run, oldest first
  (`as_of`, `tiers`), this run included.

A manager page gets the rows of that manager's own customers (the `sub` frame of the page: the customers the
manager owns in this run) and, by id with the last run's figures only (`_last_run`), their customers of the last
run who are gone or another manager's now; the team page gets aggregates only (counts, no customer id).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from pipelines.reports.config import ReportConfig
from pipelines.reports.phrases import css_token, is_blank, isolated, money, tier_reason_plain, to_date
from pipelines.reports.views import has_flag, manager_ids

MANAGER_DEPARTED = "manager_departed"
AT_RISK = "at_risk"


@dataclass(frozen=True)
class HistoryReport:
    transitions: pd.DataFrame | None
    previous_as_of: str | None
    runs: Sequence[Mapping[str, Any]] = field(default_factory=list)
    rating_grades: Sequence[str] = ()  # worst to best (`models.tier_config.RatingConfig.grades`)
    #: the tier rules changed since the previous run (`pipelines.history_rules.tier_rules_change`): what changed, or None
    rules_changed: str | None = None
    #: the as-of of the run before the previous one, whose `earlier_tier` / `earlier_account_manager_id` the
    #: transitions carry (a move back is said as one); None when the history holds no such run
    earlier_as_of: str | None = None


def _has(flags: pd.Series, flag: str) -> pd.Series:
    """Which rows' `flags` hold `flag`: the pages' one reader of the flags (`views.has_flag`, as
    `book.likely_to_leave` reads the at-risk flag), as booleans."""
    return has_flag(flags, flag).astype(bool)


def _text(value: Any) -> str:
    return "" if is_blank(value) or (isinstance(value, float) and np.isnan(value)) else str(value)


def _points(prob: Any) -> str:
    return "" if pd.isna(prob) else f"{100 * float(prob):.0f}%"


def _row(rec: Mapping[str, Any], name: str, currency: str, why: str) -> dict[str, Any]:
    change = rec.get("value_change")
    return {
        "customer_id": str(rec["customer_id"]),
        "name": name,
        "old_tier": _text(rec.get("old_tier")),
        "new_tier": _text(rec.get("new_tier")),
        "new_tier_class": css_token(_text(rec.get("new_tier")) or "none"),
        "old_rating": _text(rec.get("old_rating")),
        "new_rating": _text(rec.get("new_rating")),
        "old_churn": _points(rec.get("old_churn_prob")),
        "new_churn": _points(rec.get("new_churn_prob")),
        "value_change": "" if pd.isna(change) else money(float(change), currency, sign=True),
        "why": why,
    }


def by_rules(would: str) -> str:
    """A move the new tier rules alone made (`rules_alone`): said beside the customer, not put on them."""
    return f"only by the new tier rules: under the last run's rules {would}"


def _a(tier: Any) -> str:
    """A tier as a sentence says it of a customer: "they would be good", "they would be a problem"."""
    return f"a {tier}" if str(tier) == "problem" else str(tier)


def rules_alone(t: pd.DataFrame, what: str) -> pd.Series:
    """Which customers of the transitions `t` the new tier rules alone moved: the last run's rules on this run's
    figures (`prev_rules_*`, `pipelines.history_rules.tiers_under_previous_rules`) give the tier (`what="tier"`), the
    tier and no at-risk alert (`"at_risk"`), or the rating (`"rating"`) the customer had in the last run. False
    where not known. The one check of the manager pages' rows and the team page's count (was: the at-risk row
    looser, "they would be good, without this alert" for a great customer whose own risk would have made them
    good, or whom the last run's rules alert too)."""
    if "prev_rules_tier" not in t:
        return pd.Series(False, index=t.index)
    if what == "rating":
        same = t["prev_rules_rating"].astype("string") == t["old_rating"].astype("string")
    else:
        same = t["prev_rules_tier"].astype("string") == t["old_tier"].astype("string")
        if what == "at_risk":
            same &= ~_has(t["prev_rules_flags"], AT_RISK)
    return same.fillna(False).astype(bool)


def _last_run(rec: Mapping[str, Any]) -> dict[str, Any]:
    """What a page's manager knew of a customer who is another manager's now: the id and the last run's figures,
    nothing of this run's (tier, rating, risk of leaving, value change: blank on the page, as for a gone customer)."""
    return {k: v for k, v in rec.items() if k == "customer_id" or k.startswith("old_")}


def _who(manager_id: str, staff: Mapping[str, tuple[str, str]]) -> Markup:
    """A manager as the pages name them: "Vera Okafor (AM0008)", or the id alone; the name and the id each
    isolated from the sentence around them (`phrases.isolated`)."""
    name = staff.get(manager_id, ("", ""))[0]
    if name and name != manager_id:
        return Markup("{} ({})").format(isolated(name), isolated(manager_id))
    return isolated(manager_id)


def handed_over(old_id: str, staff: Mapping[str, tuple[str, str]]) -> Markup:
    """Why a customer of a whole book moved is on this page: from a manager the directory still lists (who left,
    or who handed the book over), or from an id it no longer knows (renamed, as far as the report can tell).
    Was: "if that was your id before, nothing changed for them" to a new manager taking over one who had left."""
    if old_id not in staff:
        return Markup(
            "with {} in the last run, all of whose customers are yours now: if that was your id before, "
            "nothing changed for them"
        ).format(isolated(old_id))
    return Markup("{}; all of their customers are yours now").format(with_last_run(old_id, staff))


def with_last_run(old_id: str, staff: Mapping[str, tuple[str, str]]) -> Markup:
    """Whom a customer of a page came from, as the hand-over (`handed_over`) and a single move (`moved_from`) both
    say it: "with Vera Okafor (AM0008) in the last run, who left the company on 2024-04-19" (no "who left" for a
    manager who has not)."""
    left = staff.get(old_id, ("", ""))[1]
    gone = f", who {left}" if left else ""
    return Markup("with {} in the last run{}").format(_who(old_id, staff), gone)


def manager_actions(
    history: HistoryReport | None,
    sub: pd.DataFrame,
    config: ReportConfig,
    unassigned: bool = False,
    staff: Mapping[str, tuple[str, str]] | None = None,
    gone: pd.DataFrame | None = None,
    moved_away: pd.DataFrame | None = None,
) -> dict | None:
    """The "This month's actions" lists of one manager page, from that page's own customers only; None without
    a history (the page is then as without one). `unassigned`: the page of the customers without a manager, read
    by whoever assigns them (was: "moved to you from another account manager ... introduce yourself", to nobody).
    `staff`: the managers of this run's directory, id -> (name, how they left, `phrases.left_company`, or ""): a whole book moved from
    a manager still listed there is a hand-over, not an id renamed. `gone`: the page's share of `gone_by_owner`
    (its customers scored in the last run and in no table of this one), listed too; `moved_away`: the page's share
    of `moved_away_by_owner` (its customers of the last run who are another manager's now)."""
    if history is None:
        return None
    out: dict[str, Any] = {
        "previous_as_of": history.previous_as_of or "",
        "groups": [],
        "first_run": False,
        "unassigned": unassigned,
    }
    if history.transitions is None:
        out["first_run"] = True
        return out
    ids = sub["customer_id"].astype(str)
    t = history.transitions.reindex(pd.Index(ids, name="customer_id")).reset_index(drop=True)
    t = t.assign(
        customer_id=ids.to_numpy(),
        _name=sub["customer_name"].astype(str).to_numpy() if "customer_name" in sub else "",
        _flags=sub["flags"].to_numpy(),
        _manager=sub["manager"].astype(str).to_numpy() if "manager" in sub else "",
        _tier_reason=sub["tier_reason"].to_numpy() if "tier_reason" in sub else None,
        _churn_reason=sub["churn_reason_1"].to_numpy() if "churn_reason_1" in sub else None,
    )
    t = t.assign(**{f"_rules_{w}": rules_alone(t, w) for w in ("tier", "at_risk", "rating")})
    seen = t["old_status"].astype(str) == "scored"
    new_flags, old_flags = t["_flags"], t.get("old_flags", pd.Series("", index=t.index))
    # the scoring's flag alone, whatever tiers its rule covers (`tiers.flag_rules`), as every count of the pages
    # reads it (`book.likely_to_leave`); was: great customers only, a widened rule's good customers left out
    at_risk_now = _has(new_flags, AT_RISK)
    at_risk_before = _has(old_flags, AT_RISK)
    became_problem = (t["new_tier"] == "problem") & t["old_tier"].isin(["great", "good"])
    departed = _has(new_flags, MANAGER_DEPARTED) & ~_has(old_flags, MANAGER_DEPARTED)
    # the last run's owner by the report's rule (`views.manager_ids`: `AM1 ` is `AM1`, blank is none), as
    # `moved_away_by_owner` reads it: a customer without one then has no manager who changed
    old_owner = manager_ids(t.get("old_account_manager_id", pd.Series(pd.NA, index=t.index)))
    moved = seen & (old_owner != "") & (old_owner != t["_manager"].fillna(""))
    grades = list(history.rating_grades)
    rank = {g: i for i, g in enumerate(grades)}
    old_r = t["old_rating"].map(lambda g: rank.get(str(g), np.nan)).astype(float)
    new_r = t["new_rating"].map(lambda g: rank.get(str(g), np.nan)).astype(float)
    # a problem is told "renegotiate or let go" by its tier: never thanked on the same page for a rating one grade
    # up (was: "problem → problem, D → C" and even customers who became problems listed for a thank-you)
    upgraded = (new_r > old_r).fillna(False) & (t["new_tier"].astype(str) != "problem")
    cur = config.currency

    def rows(mask: pd.Series, why: Any) -> list[dict[str, str]]:
        chosen = t[mask.fillna(False).to_numpy(dtype=bool)].sort_values(
            ["value_change", "customer_id"], ascending=[True, True], kind="mergesort"
        )
        return [_row(rec, _text(rec["_name"]), cur, why(rec)) for rec in chosen.to_dict("records")]

    def delta_reason(rec: Mapping[str, Any]) -> str:
        parts = [
            tier_reason_plain(rec.get("_tier_reason"), config.tier_reasons),
            to_date(_text(rec.get("value_delta_1"))),
        ]
        return "; ".join(p for p in parts if p)

    def churn_reason(rec: Mapping[str, Any]) -> str:
        # what raised their risk since the last run (churn deltas), else why their risk is what it is
        said = to_date(_text(rec.get("churn_delta_1")) or _text(rec.get("_churn_reason")))
        if not rec.get("_rules_at_risk"):
            return said
        return "; ".join(
            p for p in (by_rules(f"they would be {_a(rec['old_tier'])}, without this alert"), said) if p
        )

    def tier_by_rules(rec: Mapping[str, Any], why: str) -> str:
        if not rec.get("_rules_tier"):
            return why
        return "; ".join(p for p in (by_rules(f"they would still be {_a(rec['old_tier'])}"), why) if p)

    def rating_up(rec: Mapping[str, Any]) -> str:
        said = f"rating {_text(rec.get('old_rating'))} → {_text(rec.get('new_rating'))}"
        if not rec.get("_rules_rating"):
            return said
        return f"{said}, {by_rules('it would still be ' + _text(rec.get('old_rating')))}"

    def back(rec: Mapping[str, Any], why: str) -> str:
        # a tier the customer had two runs ago: back to it, not a new move
        if _text(rec.get("earlier_tier")) != _text(rec.get("new_tier")) or not history.earlier_as_of:
            return why
        said = f"back: {_a(rec['new_tier'])} as of {history.earlier_as_of} too"
        return "; ".join(p for p in (said, why) if p)

    def back_as_of(rec: Mapping[str, Any]) -> str:
        mine = _text(rec.get("earlier_account_manager_id"))
        return history.earlier_as_of or "" if mine and mine == _text(rec.get("_manager")) else ""

    newly_at_risk = at_risk_now & ~at_risk_before & seen
    only_great = bool((t.loc[newly_at_risk.fillna(False).to_numpy(dtype=bool), "new_tier"] == "great").all())
    groups = [
        (
            "at-risk",
            # "great" only when every one of them is (a widened rule flags good customers too)
            "Great customers newly at risk of leaving"
            if only_great
            else "Customers newly at risk of leaving",
            "Get in touch this month: their risk of leaving has crossed the alert line; the main change behind it "
            "is said beside each one.",
            rows(newly_at_risk, churn_reason),
        ),
        (
            "became-problem",
            "Customers who became problems",
            "They were good or great last time; the main change since then is said beside each one.",
            rows(became_problem & seen, lambda r: back(r, tier_by_rules(r, delta_reason(r)))),
        ),
        (
            "manager-left",
            "Customers who lost their account manager"
            if unassigned
            else "Customers whose account manager left or changed",
            "Assign each of them an account manager: customers often bond with a person, not the company."
            if unassigned
            else "Introduce yourself: customers often bond with a person, not the company.",
            rows(
                (departed | moved) & seen,
                lambda r: (
                    "their previous account manager left the company recently"
                    if MANAGER_DEPARTED in _text(r.get("_flags")).split(";")
                    else Markup("had account manager {} in the last run, none now").format(
                        isolated(_text(r.get("old_account_manager_id")))
                    )
                    if unassigned
                    else handed_over(_text(r.get("old_account_manager_id")), staff or {})
                    if r.get("old_book_moved") in (True,)
                    else moved_from(_text(r.get("old_account_manager_id")), staff or {}, back_as_of(r))
                ),
            ),
        ),
        (
            "thank-you",
            "Rating upgrades worth a thank-you",
            "Their rating went up since the last run: a personal thank-you keeps it there.",
            rows(upgraded & seen, rating_up),
        ),
    ]
    if moved_away is not None and len(moved_away):
        groups.append(
            (
                "moved-away",
                "Customers moved to another account manager",
                "They had a score with you in the last run and are another account manager's, or no one's, in this one: hand "
                "over what you know of them.",
                [
                    _row(_last_run(rec), "", cur, moved_to(rec["_new_manager"], staff or {}))
                    for rec in moved_away.to_dict("records")
                ],
            )
        )
    if gone is not None:
        groups.append(
            (
                "gone",
                "Customers no longer in the scores",
                (
                    "They had a score in the last run, without an account manager or with one who has no page in "
                    "this report, and have no row in this one"
                    if unassigned
                    else "They had a score with you in the last run and have no row in this one"
                )
                + ": their rows were rejected (the scoring run's warnings count the rejected rows by table and "
                "reason) or are gone from the data. Check whether they left, were merged into another account, "
                "or their data broke.",
                gone_rows(gone, cur, unassigned),
            )
        )
    out["groups"] = [{"key": k, "title": ti, "advice": a, "rows": r} for k, ti, a, r in groups]
    out["model_changed"], out["model_split"] = model_change(t, cur)
    out["total"] = sum(len(g["rows"]) for g in out["groups"])
    # moves that come from new tier rules are not the customers' doing: the page says so (the team page names them)
    out["rules_changed"] = bool(history.rules_changed)
    return out


def gone_by_owner(history: HistoryReport | None, pages: Collection[str]) -> dict[str, pd.DataFrame]:
    """Once per report: the customers who had a score in the last run and are in no table of this run (`presence`
    "gone": their rows rejected, or deleted from the data), most valuable first, by the manager page that lists
    them: their last run's manager when `pages` (the managers with a page) holds them, else "" (the page of the
    customers without a manager: none last run, or a manager with no page now, e.g. their whole book rejected).
    Was: filtered again for every page (0.47-0.64 s a page on 1M customers, +94 s for 200 managers), and a gone
    customer whose manager had no page listed nowhere."""
    t = None if history is None else history.transitions
    if t is None or "presence" not in t or "old_account_manager_id" not in t:
        return {}
    gone = t[(t["presence"] == "gone").to_numpy() & (t["old_status"].astype("str") == "scored").to_numpy()]
    gone = gone.reset_index().sort_values(
        ["old_value", "customer_id"], ascending=[False, True], kind="mergesort"
    )
    gone = gone.assign(_last_manager=manager_ids(gone["old_account_manager_id"]).to_numpy())
    page = gone["_last_manager"].where(gone["_last_manager"].isin(list(pages)), "")
    return {str(mid): rows for mid, rows in gone.groupby(page.to_numpy(), sort=False)}


def moved_away_by_owner(
    history: HistoryReport | None, everyone: pd.DataFrame, pages: Collection[str]
) -> dict[str, pd.DataFrame]:
    """Once per report: the customers scored with a manager in the last run who are another manager's, or no
    manager's, in this run (`everyone`: this run's scores, scored or not, with `manager`, `views.prepare`), most
    valuable first, by their last run's manager when `pages` (the managers with a page) holds them: listed there by
    id, their manager last run (no name or other personal column of a customer who is another manager's now). Was:
    listed on the new manager's page only ("moved to you"); the old manager's book lost them without a word."""
    t = None if history is None else history.transitions
    if t is None or "old_account_manager_id" not in t or not len(everyone):
        return {}
    now = pd.Series(
        manager_ids(everyone["manager"]).to_numpy(), index=everyone["customer_id"].astype(str).to_numpy()
    )
    seen = t[(t["old_status"].astype("str") == "scored").to_numpy()]
    old = manager_ids(seen["old_account_manager_id"]).to_numpy()
    new = now.reindex(seen.index.astype(str)).to_numpy(dtype=object)
    here = pd.notna(new)
    moved = here & (old != "") & (old != np.where(here, new, "")) & np.isin(old, list(pages))
    out = seen[moved].reset_index()
    out = out.assign(_last_manager=old[moved], _new_manager=new[moved].astype(str))
    out = out.sort_values(["old_value", "customer_id"], ascending=[False, True], kind="mergesort")
    return {str(mid): rows for mid, rows in out.groupby("_last_manager", sort=False)}


def moved_from(old_id: str, staff: Mapping[str, tuple[str, str]], yours_as_of: str = "") -> Markup:
    """Where a customer moved to a page's manager came from, named as the old manager's page names where it went
    (`moved_to`; was: "from another account manager", unnamed), and whether they left, in the hand-over's words
    (`with_last_run`). `yours_as_of`: the run before the last one, when the customer was this manager's then
    (was: told as new to them)."""
    if yours_as_of:
        return Markup("moved back to you: yours as of {}, {}").format(
            yours_as_of, with_last_run(old_id, staff)
        )
    return Markup("moved to you from another account manager: {}").format(with_last_run(old_id, staff))


def moved_to(new_id: str, staff: Mapping[str, tuple[str, str]]) -> Markup:
    """Where a customer moved away from a page's manager went: the manager's name and id, or none."""
    if not new_id:
        return Markup("moved to no account manager since the last run: to be assigned")
    return Markup("moved to {} since the last run").format(_who(new_id, staff))


def gone_rows(gone: pd.DataFrame | None, currency: str, unassigned: bool) -> list[dict[str, str]]:
    """The rows of a page's "Customers no longer in the scores" (`gone_by_owner`'s share); on the page of the
    customers without a manager, each says whose customer it was (was: "had a score with you", to nobody)."""
    if gone is None:
        return []
    out = []
    for rec in gone.to_dict("records"):
        was = f"{_text(rec.get('old_tier')) or 'scored'} in the last run"
        owner = rec["_last_manager"] if unassigned else ""
        why: str = (
            Markup("{} with account manager {}, who has no page now; no row in this run's scores").format(
                was, isolated(owner)
            )
            if owner
            else f"{was}{' without an account manager' if unassigned else ''}; no row in this run's scores"
        )
        out.append(_row(_last_run(rec), "", currency, why))
    return out


def model_change(t: pd.DataFrame, currency: str) -> tuple[bool, dict[str, str] | None]:
    """Whether the model changed between the runs of transitions `t` and, with the run's bridge (the old model on the
    new data, `models.transitions`), how much of their customers' value change is new data, how much the model
    (`{"data": "+80 EUR", "model": "+111 EUR", "same_predictions": False}`, None when it cannot be split): a
    manager page's customers, or the team page's whole base. `same_predictions`: the model part of no customer's
    value or churn probability is more than floating-point noise, and its total is "0 EUR" (`_unmoved`)."""
    changed = (
        t["model_changed"].fillna(False).astype(bool).to_numpy(dtype=bool) if "model_changed" in t else None
    )
    if changed is None or not changed.any():
        return False, None
    if "value_change_data" not in t:
        return True, None
    split = t[changed]
    split = split[split["value_change_data"].notna() & split["value_change_model"].notna()]
    if not len(split):
        return True, None
    model_total = split["value_change_model"].sum()
    out: dict[str, Any] = {
        "data": money(split["value_change_data"].sum(), currency, sign=True),
        "model": money(model_total, currency, sign=True),
    }
    out["same_predictions"] = bool(round(model_total) == 0 and _unmoved(split))
    return True, out


def _unmoved(split: pd.DataFrame) -> bool:
    """The new model's part of every customer's value and churn probability is floating-point noise (the same
    training again: same data, settings and seed): within a millionth of the largest value of the customers (a
    currency unit is not: a company of values under 1 EUR), a millionth of a probability; unknown churn parts
    (no churn bridge) are not noise (was: value parts under 0.5 each, churn ignored: a retraining that moved only
    churn, or every customer by 0.4 EUR, +120 EUR in all, said to predict as the one before)."""
    if "churn_change_model" not in split:
        return False
    value = split["value_change_model"].to_numpy(dtype=np.float64)
    churn = split["churn_change_model"].to_numpy(dtype=np.float64)
    known = [
        split[c].to_numpy(dtype=np.float64)
        for c in ("old_value", "new_value", "value_change_data")
        if c in split
    ]
    scale = float(np.nanmax(np.abs(np.concatenate(known)), initial=0.0))
    return bool(
        np.isfinite(churn).all()
        and (np.abs(value) <= 1e-6 * scale + 1e-12).all()
        and (np.abs(churn) <= 1e-6).all()
    )


def team_history(history: HistoryReport | None, tiers: list[str], config: ReportConfig) -> dict | None:
    """The team page's transition matrix (old tier x new tier counts) and tier counts over the runs (a chart)."""
    if history is None:
        return None
    from pipelines.reports.charts import tier_history_chart

    out: dict[str, Any] = {
        "previous_as_of": history.previous_as_of or "",
        "matrix": None,
        "rules_changed": history.rules_changed,
        "model_changed": False,
        "model_split": None,
    }
    if history.transitions is not None:
        t = history.transitions
        # the moves of a retrained model are partly the model's (was: said on the manager pages only, the team
        # page's "31 customers changed tier" read as the customers' doing)
        out["model_changed"], out["model_split"] = model_change(t, config.currency)
        old = t["old_tier"].astype(object).where(t["old_tier"].notna(), "not scored")
        new = t["new_tier"].astype(object).where(t["new_tier"].notna(), "not scored")
        old = old.where(t["presence"] != "new", "new customer")
        new = new.where(t["presence"] != "gone", "gone")
        found = set(t["old_tier"].dropna().astype(str)) | set(t["new_tier"].dropna().astype(str))
        known = [*tiers, *sorted(found - set(tiers))]
        row_labels = [*known, "not scored", "new customer"]
        col_labels = [*known, "not scored", "gone"]
        counts = pd.crosstab(old, new).reindex(index=row_labels, columns=col_labels, fill_value=0)
        counts = counts.loc[counts.sum(axis=1) > 0, counts.sum(axis=0) > 0]
        out["matrix"] = {
            "columns": [{"label": c, "tier_class": css_token(c)} for c in counts.columns],
            "rows": [
                {
                    "label": r,
                    "tier_class": css_token(r),
                    "cells": [
                        {"count": int(v), "same": r == c and r in known}
                        for c, v in zip(counts.columns, counts.loc[r], strict=True)
                    ],
                    "total": int(counts.loc[r].sum()),
                }
                for r in counts.index
            ],
            "moved": int(sum(counts.loc[r, c] for r in counts.index for c in counts.columns if r != c)),
        }
        if "prev_rules_tier" in t:  # the moves the new tier rules alone made
            moved_tier = (t["new_tier"].astype("string") != t["old_tier"].astype("string")).fillna(False)
            out["rules_only"] = int((moved_tier & rules_alone(t, "tier")).sum())
    runs = list(history.runs)
    table = pd.DataFrame([{"as_of": r["as_of"], **dict(r["tiers"])} for r in runs]).fillna(0)
    shown = [t for t in tiers if t in table] + [t for t in table.columns if t not in tiers and t != "as_of"]
    out["runs"] = [
        {"as_of": r["as_of"], "counts": [int(dict(r["tiers"]).get(t, 0)) for t in shown]} for r in runs
    ]
    out["run_tiers"] = shown
    out["chart"] = (
        tier_history_chart(table.set_index("as_of")[shown], config.tier_colors) if len(runs) else Markup("")
    )
    return out
