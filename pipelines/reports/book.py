"""A manager's book on their page: all of it when it is small; when it is large, the customers who need action
first and the top of each tier, with every customer in a CSV file beside the page (round 37, was: every customer
on the page, about 1.6 KB of HTML each: 4,600 customers a 7.5 MB page, 50,000 about 75 MB).

Reads the rows of `views.customer_rows` (most valuable first) and the page's scores; writes nothing but the CSV.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.reports.columns import Interval
from pipelines.reports.config import ReportConfig
from pipelines.reports.phrases import BIDI_CONTROLS, css_token
from pipelines.reports.views import has_flag

#: the CSV's columns whose text comes from the data (names, ids, reasons and flags naming a category)
_FROM_THE_DATA = (
    "Customer",
    "Name",
    "Why this value",
    "Why this risk of leaving",
    "Watch out",
    "Why no score",
)

#: the tier whose customers a manager looks at from the largest loss up, not the largest value down
_LOSSES_FIRST = "problem"
_TAG = re.compile(r"<[^>]*>")  # the markup of a phrase; its text is escaped, so a "<" of the data is "&lt;"


def csv_name(page_name: str) -> str:
    """The CSV beside a page: `manager-AM001.html` -> `manager-AM001-customers.csv`."""
    return f"{Path(page_name).stem}-customers.csv"


def likely_to_leave(frame: pd.DataFrame) -> pd.Series:
    """Who to get in touch with first, per scored customer (every page's count, a capped page's first list, the
    CSV's "At risk of leaving"): the scoring's `at_risk` flag alone (the rule in `tiers.flag_rules`, great
    customers by default; a company that wants good customers flagged too widens the rule's `only_tiers`). The
    reports hold no second rule: `report.high_churn_prob` only colours the chance of leaving."""
    return has_flag(frame["flags"], "at_risk").astype(bool)


def page_groups(
    rows: list[dict[str, Any]],
    tiers: list[str],
    config: ReportConfig,
    not_scored: Sequence[dict[str, str]] = (),
    new: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Which of a manager's customers their page lists, in groups: all of them in one group up to
    `report.page_all_customers_up_to`; above it, those to get in touch with first (`likely_to_leave`, the most valuable
    first), then each tier's first `report.page_customers_per_tier` not listed above (the most valuable first;
    problem customers the largest loss first). `cut`: the page leaves some out (the CSV holds all). Each group:
    key, tier (or ""), rows, total (the customers of its kind), more (left out of it). `not_scored`: the page's
    customers without a score (`views.status_rows`), and `new`: their new customers
    (`profile_section.new_customer_rows`), counted in the book's size; a cut page lists the first
    `page_customers_per_tier` of each (`not_scored`, `new`; `not_scored_more`, `new_more` left out; round 38, was:
    every new customer on the page and none in the CSV)."""
    not_scored, new = list(not_scored), list(new)
    if len(rows) + len(not_scored) + len(new) <= config.page_all_customers_up_to:
        return {
            "cut": False,
            "groups": [{"key": "all", "tier": "", "rows": rows, "total": len(rows), "more": 0}],
            "not_scored": not_scored,
            "not_scored_more": 0,
            "new": new,
            "new_more": 0,
        }
    n = config.page_customers_per_tier
    need = [r for r in rows if r["at_risk"]]
    groups = [
        {
            "key": "need-action",
            "tier": "",
            "rows": need[:n],
            "total": len(need),
            "more": max(len(need) - n, 0),
        }
    ]
    listed = {r["customer_id"] for r in need[:n]}
    for tier in tiers:
        of_tier = [r for r in rows if r["tier"] == tier]
        if (
            tier == _LOSSES_FIRST
        ):  # the largest loss first, equal values by id as everywhere (was: id descending)
            of_tier = sorted(of_tier, key=lambda r: (r["amount"], r["customer_id"]))
        rest = [r for r in of_tier if r["customer_id"] not in listed]
        groups.append(
            {
                "key": f"tier-{css_token(tier)}",
                "tier": tier,
                "tier_class": css_token(tier),
                "losses_first": tier == _LOSSES_FIRST,
                "rows": rest[:n],
                "total": len(of_tier),
                "more": max(len(rest) - n, 0),
            }
        )
    return {
        "cut": True,
        "per_tier": n,
        "groups": [g for g in groups if g["total"]],
        "not_scored": not_scored[:n],
        "not_scored_more": max(len(not_scored) - n, 0),
        "new": new[:n],
        "new_more": max(len(new) - n, 0),
    }


def _plain(item: Any) -> str:
    """A phrase as a spreadsheet cell: markup (a category isolated, `phrases.isolated`) as its text, the values'
    spaces and tabs as written (markupsafe's `striptags` would merge them)."""
    if not hasattr(item, "__html__"):
        return str(item)
    return html.unescape(_TAG.sub("", str(item)))


def book_frame(
    sub: pd.DataFrame,
    rows: list[dict[str, Any]],
    h: int,
    interval: Interval,
    words: dict[str, str],
    not_scored: Sequence[dict[str, str]] = (),
    new: Sequence[dict[str, Any]] = (),
) -> pd.DataFrame:
    """Every customer of a page's `rows` (their order), then their new customers (`new`, the most likely to
    become great first: status `new`, the suggested tier, the lookalike model's expected value, its reasons and
    what to do first), then those without a score (`not_scored`, with their status and why), as the CSV beside
    the page: the page's figures as numbers (money in whole
    `words["currency"]`, the chance of leaving in percent) and its words. Columns are named in a manager's words,
    with their unit."""
    cur = words["currency"]
    figures = sub.set_index(sub["customer_id"].astype("str"))
    ids = [str(r["customer_id"]) for r in rows]

    def money_of(col: str) -> pd.Series:
        return figures[col].astype("float64").reindex(ids).round(0).astype("Int64").to_numpy()

    scored = pd.DataFrame(
        {
            "Customer": ids,
            "Name": [r["name"] for r in rows],
            "Tier": [r["tier"] for r in rows],
            "Rating": [r["rating"] for r in rows],
            f"Expected value, {words['next_period']} ({cur})": money_of(f"pred_value_{h}d"),
            f"Likely at least ({cur})": money_of(interval.low),
            f"Likely at most ({cur})": money_of(interval.high),
            f"Chance of leaving {words['within']} (%)": (
                figures[f"pred_churn_prob_{h}d"].astype("float64").reindex(ids) * 100
            )
            .round(1)
            .to_numpy(),
            "At risk of leaving": ["yes" if r["at_risk"] else "" for r in rows],
            "Why this tier": [r["tier_reason"] for r in rows],
            "What to do": [r["action"] for r in rows],
            "Why this value": _joined([[_plain(x["text"]) for x in r["value_reasons"]] for r in rows]),
            "Why this risk of leaving": _joined(
                [[_plain(x["text"]) for x in r["churn_reasons"]] for r in rows]
            ),
            "Watch out": _joined([[_plain(f) for f in r["flags"]] for r in rows]),
            "Status": "scored",
            "Why no score": "",
        }
    )
    newcomers = pd.DataFrame(
        {
            "Customer": [r["customer_id"] for r in new],
            "Name": [r["name"] for r in new],
            "Tier": [r["tier"] for r in new],
            f"Expected value, {words['next_period']} ({cur})": pd.array(
                [r["amount"] for r in new], dtype="Float64"
            ).round(0),
            "What to do": [r["action"] for r in new],
            "Why this value": _joined([[_plain(x) for x in r["reasons"]] for r in new]),
            "Status": "new",
            "Why no score": [
                "; ".join(
                    x
                    for x in (r.get("status_reason", ""), f"{r['chance']} chance of becoming a top customer")
                    if x
                )
                for r in new
            ],
        },
        dtype="object",
    )
    others = pd.DataFrame(
        {
            "Customer": [r["customer_id"] for r in not_scored],
            "Name": [r["name"] for r in not_scored],
            "Status": [r["status"] for r in not_scored],
            "Why no score": [r["reason"] for r in not_scored],
        },
        dtype="object",
    )
    if len(others) or len(newcomers):
        every = pd.concat([scored, *(f for f in (newcomers, others) if len(f))], ignore_index=True)
        money_columns = [
            c for c in scored.columns if c.endswith(f"({cur})")
        ]  # whole amounts, blank without a score
        every = every.astype({c: "Int64" for c in money_columns})
    else:
        every = scored
    return _without_bidi_controls(every)


def _joined(items: list[list[str]]) -> np.ndarray:
    """Each row's phrases as one cell, "; " between them ("" for none)."""
    return pd.Series(items, dtype="object").str.join("; ").fillna("").to_numpy()


def _without_bidi_controls(frame: pd.DataFrame) -> pd.DataFrame:
    """The text cells without bidi controls, as the pages show them (`phrases.BIDI_CONTROLS`, round 37, was: a
    name's `<RLO>` copied into the CSV, reversing what a spreadsheet shows after it)."""
    for col in _FROM_THE_DATA:
        text = frame[col]
        if text.dtype == "object":
            is_text = text.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
            frame[col] = text.where(~is_text, text.str.replace(BIDI_CONTROLS, "", regex=True))
    return frame
