"""View models of the manager pages: scores joined to names and managers, customer rows, tier summaries, statuses.

Every function takes frames and settings and returns plain dicts and lists for the templates; nothing here renders
or writes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from features.errors import StructuralError
from pipelines.reports.columns import Interval, reason_slots
from pipelines.reports.config import ReportConfig
from pipelines.reports.phrases import (
    churn_phrase,
    css_token,
    flags_plain,
    is_blank,
    money,
    pct,
    plain_feature,
    reason_isolated,
    tier_reason_plain,
)


def tier_order(tiers: pd.Series, config: ReportConfig) -> list[str]:
    present = set(tiers.dropna().astype(str))
    ordered = [t for t in config.actions if t in present]
    return ordered + sorted(present - set(ordered))


def _reasons(
    row: Mapping[str, Any], kind: str, slots: list[int], registry: Mapping[str, Any]
) -> list[dict[str, str]]:
    """The reasons of one row; `feature` is the hover text in the registry's plain words, never a column name."""
    out = []
    for k in slots:
        text = row.get(f"{kind}_reason_{k}")
        if is_blank(text):
            continue
        feature = row.get(f"{kind}_reason_feature_{k}")
        out.append(
            {
                "text": reason_isolated(str(text), feature),  # markup: a category inside isolated
                "feature": "" if is_blank(feature) else plain_feature(str(feature), registry),
            }
        )
    return out


def check_ids(table: pd.DataFrame | None, column: str, what: str, way_out: str) -> None:
    """`build_reports`' tables as its pages need them: each id once and none missing or blank. A managers' row
    without an id would get a page of its own holding every customer without a manager (the page of `""`), under
    that row's name; a customer twice would be named by whichever row came first. Raises StructuralError (a
    ValueError: `cvp report` and `cvp profile` exit 2) naming the table, the column, a few ids as written (`'AM1',
    'AM1 '`) or source rows, and `way_out`, the caller's (the scores: score again; another table: fix it). Ids are
    compared without the spaces around them, as `manager_ids` reads a manager's (`AM1 ` is `AM1`)."""
    if table is None or column not in table:
        return
    ids = table[column]
    text = ids.astype("str").str.strip()
    blank = (ids.isna() | (text == "")).to_numpy()
    if blank.any():
        rows = ", ".join(map(str, table.index[blank][:3]))
        raise StructuralError(
            f"{what} must have its {column} on every row: {int(blank.sum())} row(s) without one (rows {rows}); "
            f"{way_out}"
        )
    twice = text.duplicated(keep=False).to_numpy()
    if twice.any():
        raw = ids[twice].astype("str")
        shown = sorted(set(text[twice]))[:3]
        spellings = [s for key in shown for s in dict.fromkeys(raw[(text[twice] == key).to_numpy()])]
        raise StructuralError(
            f"{what} must have one row per {column}: {', '.join(map(repr, spellings))} appear more than once; "
            f"{way_out}"
        )


#: `check_scores`' way out: scores as `cvp score` writes them are not edited, they are written again.
_SCORE_AGAIN = "not as `cvp score` writes it (a scores file edited or put together by hand?): score again"


def rating_grades() -> dict[str, set[str]]:
    """The grades of each rating scale, as text (`models.tier_config.RatingConfig.grades`, the one place they are
    defined): {"letters": {"A", ..., "D"}, "score10": {"1", ..., "10"}}."""
    from typing import get_args

    from models.tier_config import RatingConfig

    scales = get_args(RatingConfig.model_fields["scale"].annotation)
    return {s: {str(g) for g in RatingConfig.model_construct(scale=s).grades()} for s in scales}


def check_scores(scores: pd.DataFrame, h: int) -> None:
    """The scores as `cvp score` writes them, before a page or profile is drawn from them: one row per customer
    (`check_ids`), a status of `features.population.STATUSES` on every row and, on every scored row
    (`split_status`), finite predictions (`pred_value_{h}d`, its interval `pred_value_p<q>_{h}d` with the low
    quantile's at most the high one's, `pred_churn_prob_{h}d`), a churn probability from 0 to 1, a tier of
    `models.tiers.TIER_NAMES` and a rating, when given, of one rating scale (`rating_grades`; the scale the run
    was scored with is not in its manifest: the file's most common one). A CSV's text (`nan`, `#N/A`, `Great`,
    `Scored`) is no status, tier or rating. Was (round 36): a value `inf` put first on its manager's page as
    "unknown" and the team total "unknown", a churn of 1.7 shown "170% likely to stop buying", a blank tier or
    the text `nan` shown as the tier "nan", a tier `grate` or a rating `Z` shown as written, a customer twice an
    "unexpected ValueError" (exit 1). Raises StructuralError naming the column, how many rows and a few customer
    ids."""
    from features.population import STATUSES
    from models.tiers import TIER_NAMES

    check_ids(scores, "customer_id", "scores", _SCORE_AGAIN)
    if "status" in scores:
        status = scores["status"].astype("str")
        blank = (status.isna() | (status.str.strip() == "")).to_numpy()
        unknown = ~blank & ~status.isin(STATUSES).to_numpy()
        for bad, said in (
            (blank, "without a status"),
            (unknown, f"with a status not one of {', '.join(STATUSES)}"),
        ):
            if (
                bad.any()
            ):  # was: listed among the customers without a score, as of the status "nan" or "Scored"
                raise StructuralError(
                    f"scores: {int(bad.sum())} customer(s) {said} (e.g. "
                    f"{_examples(scores['customer_id'], bad, status)}): {_SCORE_AGAIN}"
                )
    judged = [
        c
        for c in scores.columns
        if c in ("customer_id", "status", "tier", "rating") or str(c).startswith("pred_")
    ]
    scored = split_status(scores[judged])[
        0
    ]  # the columns judged only: not a copy of every reason (1M rows: -0.7 s)
    ids = scored["customer_id"] if "customer_id" in scored else pd.Series("", index=scored.index)
    interval = sorted(
        (int(m[1]), str(c)) for c in scored.columns if (m := re.fullmatch(rf"pred_value_p(\d+)_{h}d", str(c)))
    )
    problems: list[tuple[str, str, np.ndarray, pd.Series | None]] = []
    values: dict[str, np.ndarray] = {}
    for col in [f"pred_value_{h}d", *(c for _, c in interval), f"pred_churn_prob_{h}d"]:
        if col not in scored:
            continue
        values[col] = pd.to_numeric(scored[col], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        problems.append((col, "missing or not a finite number", ~np.isfinite(values[col]), scored[col]))
        if col.startswith("pred_churn_prob_"):
            v = values[col]
            problems.append((col, "outside 0 to 1", np.isfinite(v) & ((v < 0) | (v > 1)), scored[col]))
    if len(interval) == 2:
        (_, low), (_, high) = interval
        with np.errstate(invalid="ignore"):
            crossed = values[low] > values[high]
        problems.append((low, f"above {high}", crossed, None))
    if "tier" in scored:
        tier = scored["tier"].astype("str")
        blank = (tier.isna() | (tier.str.strip() == "")).to_numpy()
        problems.append(("tier", "missing", blank, None))
        problems.append(
            ("tier", f"not one of {', '.join(TIER_NAMES)}", ~blank & ~tier.isin(TIER_NAMES).to_numpy(), tier)
        )
    if "rating" in scored:
        rating = scored["rating"]
        if pd.api.types.is_float_dtype(rating) and bool((rating.dropna() % 1 == 0).all()):
            rating = rating.astype("Int64")  # grades 1-10 with a blank among them: `5.0` is grade 5
        rating = rating.astype("str")
        given = (rating.notna() & (rating.str.strip() != "")).to_numpy()  # no rating: "unrated" on the page
        scales = rating_grades()
        scale = max(scales, key=lambda s: int(rating[given].isin(scales[s]).sum()))
        grades = sorted(scales[scale], key=lambda g: (len(g), g))
        problems.append(
            (
                "rating",
                f"not a grade of its scale ({', '.join(grades)})",
                given & ~rating.isin(grades).to_numpy(),
                rating,
            )
        )
    for col, problem, bad, written in problems:
        if bad.any():
            raise StructuralError(
                f"scores: {int(bad.sum())} scored customer(s) with {col} {problem} "
                f"(e.g. {_examples(ids, bad, written)}): {_SCORE_AGAIN}"
            )


def _examples(ids: pd.Series, bad: np.ndarray, written: pd.Series | None) -> str:
    """A few customer ids of the rows `bad`, with the value as written (`'C1' ('Great')`) when `written` is given."""
    shown = ids.astype("str")[bad][:3]
    if written is None:
        return ", ".join(map(repr, shown))
    return ", ".join(f"{c!r} ({v!r})" for c, v in zip(shown, written[bad][:3].astype("str"), strict=True))


def prepare(scores: pd.DataFrame, customers: pd.DataFrame | None) -> pd.DataFrame:
    """Scores with `manager` (str or "" for unassigned) and `customer_name` (str or "") attached; not mutated."""
    frame = scores.copy()
    frame["customer_id"] = frame["customer_id"].astype(str)
    names = pd.Series("", index=frame.index, dtype="str")
    if customers is not None and "customer_id" in customers:
        cust = customers.set_index(customers["customer_id"].astype(str))  # one row per id (`check_ids`)
        if "name" in cust:
            names = frame["customer_id"].map(cust["name"]).fillna("").astype(str)
        if "account_manager_id" not in frame and "account_manager_id" in cust:
            frame["account_manager_id"] = frame["customer_id"].map(cust["account_manager_id"])
    frame["customer_name"] = names
    if "account_manager_id" not in frame:
        frame["account_manager_id"] = pd.NA
    frame["manager"] = manager_ids(frame["account_manager_id"])
    return frame


def manager_ids(ids: pd.Series) -> pd.Series:
    """Account manager ids as str, "" for none: missing, empty or spaces only (the page of the customers without a
    manager). The one rule of "no manager" for this run's scores and the last run's owners (`actions.gone_by_owner`)."""
    manager = ids.astype("str").str.strip()  # missing stays missing under the str dtype; `AM1 ` is `AM1`
    return manager.where(manager.notna() & (manager != ""), "")


def split_status(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scored rows, the others) by the `status` column (`features.population`); all scored without it."""
    if "status" not in frame:
        return frame, frame.iloc[0:0]
    scored = (frame["status"].astype("str") == "scored").to_numpy()
    return frame[scored], frame[~scored]


def status_counts(not_scored: pd.DataFrame, n_scored: int) -> list[dict[str, Any]]:
    """Customers per status for the team page, scored first."""
    counts = not_scored["status"].astype("str").value_counts().sort_index() if len(not_scored) else {}
    return [{"status": "scored", "count": n_scored}] + [
        {"status": str(k), "count": int(v)} for k, v in dict(counts).items()
    ]


def status_rows(sub: pd.DataFrame) -> list[dict[str, str]]:
    """The customers of one manager that were not scored: id, name, status, the plain reason."""
    sub = sub.sort_values(["status", "customer_id"], kind="mergesort")
    return [
        {
            "customer_id": str(r["customer_id"]),
            "name": str(r["customer_name"]),
            "status": str(r["status"]).replace("_", " "),
            "reason": "" if is_blank(r.get("status_reason")) else str(r["status_reason"]),
        }
        for r in sub.to_dict("records")
    ]


def manager_directory(frame: pd.DataFrame, account_managers: pd.DataFrame | None) -> pd.DataFrame:
    """One row per manager id seen in the scores or the managers table: id, name, left_at."""
    ids = set(frame.loc[frame["manager"] != "", "manager"])
    table = pd.DataFrame({"account_manager_id": pd.Series(dtype="str")})
    if account_managers is not None and "account_manager_id" in account_managers:
        table = account_managers.copy()
        table["account_manager_id"] = table["account_manager_id"].astype(str).str.strip()  # as `manager_ids`
        ids |= set(table["account_manager_id"])
    # An explicit string dtype: with no manager at all (order-only files) the empty column would be float64.
    out = pd.DataFrame({"account_manager_id": pd.Series(sorted(ids), dtype="str")})
    out = out.merge(table, on="account_manager_id", how="left")
    if "name" not in out:
        out["name"] = pd.NA
    if "left_at" not in out:
        out["left_at"] = pd.NaT
    return out


def customer_rows(
    frame: pd.DataFrame,
    h: int,
    interval: Interval,
    config: ReportConfig,
    within: str,
    show_names: bool,
    registry: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """Table rows for one manager page, most valuable first (ties by customer id); `registry` words the reasons'
    hover text."""
    cur = config.currency
    ordered = frame.sort_values(
        [f"pred_value_{h}d", "customer_id"], ascending=[False, True], kind="mergesort"
    )
    slots = {kind: reason_slots(list(frame.columns), kind) for kind in ("value", "churn")}
    rows = []
    for rec in ordered.to_dict("records"):
        tier = str(rec["tier"])
        churn = churn_phrase(rec[f"pred_churn_prob_{h}d"], within)
        rows.append(
            {
                "customer_id": rec["customer_id"],
                "name": rec["customer_name"] if show_names else "",
                "tier": tier,
                "tier_class": css_token(tier),
                "tier_reason": tier_reason_plain(rec.get("tier_reason"), config.tier_reasons),
                "rating": "" if is_blank(rec.get("rating")) else str(rec["rating"]),
                "value": money(rec[f"pred_value_{h}d"], cur),
                "amount": float(
                    rec[f"pred_value_{h}d"]
                ),  # the value as a number: a problem tier's order (`book`)
                "low": money(rec[interval.low], ""),
                "high": money(rec[interval.high], cur),  # "likely 0 to 1,682 EUR", as the value above it
                "churn": churn,
                # The figure and the words are split only for layout; together they read as `churn`.
                "churn_pct": churn.split(" likely ", 1)[0] if " likely " in churn else "",
                "churn_rest": ("likely " + churn.split(" likely ", 1)[1]) if " likely " in churn else churn,
                "churn_high": bool(rec[f"pred_churn_prob_{h}d"] >= config.high_churn_prob),
                "value_reasons": _reasons(rec, "value", slots["value"], registry),
                "churn_reasons": _reasons(rec, "churn", slots["churn"], registry),
                # a profile category unseen in training, marked beside the customer (`unseen_profile_marks`)
                "flags": flags_plain(rec.get("flags"), config.flag_phrases)
                + (
                    [Markup(rec["_unseen"])] if rec.get("_unseen") else []
                ),  # escaped by `unseen_profile_marks`
                "action": config.actions.get(tier, ""),
                "at_risk": bool(rec.get("_at_risk", False)),  # needs action first on a long page (`book`)
            }
        )
    return rows


def has_flag(flags: pd.Series, flag: str) -> pd.Series:
    return flags.fillna("").astype(str).str.split(";").map(lambda fs: flag in {f.strip() for f in fs})


def tier_summary(frame: pd.DataFrame, tiers: list[str], h: int, config: ReportConfig) -> list[dict[str, Any]]:
    value = frame[f"pred_value_{h}d"].astype("float64")
    total = float(value.sum())
    n = len(frame)
    out = []
    for tier in tiers:
        mask = frame["tier"].astype(str) == tier
        tier_value = float(value[mask].sum())
        out.append(
            {
                "tier": tier,
                "tier_class": css_token(tier),
                "count": int(mask.sum()),
                "customer_share": pct(mask.sum() / n) if n else "n/a",
                "value": money(tier_value, config.currency),
                "negative": tier_value < 0,
                # A share of a non-positive total has no meaning (negative profit pools flip the signs).
                "value_share": pct(tier_value / total) if total > 0 else "n/a",
                "action": config.actions.get(tier, ""),
            }
        )
    return out


def manager_link(
    href: str, mid: str, name: str, left: str, sub: pd.DataFrame, value_col: str, config: ReportConfig
) -> dict[str, Any]:
    counts = sub["tier"].astype(str).value_counts()
    return {
        "href": href,
        "id": mid,
        "name": name,
        "left": left,  # `phrases.left_company`
        "count": len(sub),
        "tiers": {t: int(counts.get(t, 0)) for t in config.actions},
        "value": money(float(sub[value_col].sum()), config.currency),
        "at_risk": int(sub["_at_risk"].sum()),
    }
