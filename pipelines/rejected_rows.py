"""What every command says and records about the input rows it did not use: one rule for all of them.

`rows_summary`: per table rows in = accepted + rejected, by reason, and per source of a mapping the same with the
rejects the mapping expects (`pipelines.mapping.source_rows`): the counts a scoring manifest and a training run
record (reasons are the rules' wording: never a row's values). `said`: the warning (rows rejected) and the note
(rows the mapping expects to reject, within their `max_share`) a command prints, `cvp score` at its close
(`pipelines.score_console.closing_warnings`), `cvp validate`, `cvp train`, `cvp backtest` and `cvp features` after loading.
Light: no pandas, no MLflow (the scoring console imports it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

#: `said`'s "not used by ..." for `cvp train` and `cvp backtest`, and `cvp validate`'s
TRAINING = "the models trained or backtested on this data"
VALIDATE = "any command reading this data"
FEATURES = "this feature table"


def rows_summary(loaded: Any) -> dict[str, Any]:
    """A loaded data's (`pipelines.io.LoadedData`) counts, under the scoring manifest's keys: from what it holds
    (a mapping's expected rejects as applied at loading; the mapping file is not read again)."""
    from pipelines.mapping import source_rows

    report = loaded.result.report
    return {
        "rows": {
            n: {"in": r.rows_in, "accepted": r.accepted, "rejected": r.rejected} for n, r in report.items()
        },
        "rejected_by_reason": {n: dict(r.rejected_by_reason) for n, r in report.items()},
        "source_rows": source_rows(
            getattr(loaded, "source_report", None), getattr(loaded, "expected_rejects", None)
        ),
    }


#: How `said`'s warning of the rows rejected goes on after their count (`rejected_warning` finds it by it)
REJECTED_ROWS = "rejected, not used by"


def rows_rejected(n: int) -> str:
    """`n` input rows rejected, singular or plural (was: "1 input rows rejected")."""
    return f"{n:,} input {'row' if n == 1 else 'rows'} rejected"


def rejected_warning(summary: Mapping[str, Any], used_by: str) -> str | None:
    """`said`'s warning of the rows rejected (not those a mapping expects), None when none was: what the report
    pages of a scoring run say on the model card, and atop each page from a share (`rejected_share`)."""
    return next((t for k, t in said(summary, used_by) if k == "warning" and REJECTED_ROWS in t), None)


def rejected_share(summary: Mapping[str, Any]) -> float:
    """The largest share of a table's (or a mapping source's) rows rejected (not those the mapping expects):
    from `report.rejected_rows_banner_share` every report page says it at its top."""
    tables, _ = _rejected_tables(summary)
    return max((n / rows for rows, n, _ in tables.values() if rows), default=0.0)


def _rejected_tables(summary: Mapping[str, Any]) -> tuple[dict[str, tuple[int, int, dict]], list[str]]:
    """Per table and mapping source of `summary` (`said`'s): (rows in, rejected, by reason), and the rejects the
    mapping expects (within their share) as `said` lists them."""
    reasons = summary.get("rejected_by_reason") or {}
    tables = {
        t: (r["in"], r["rejected"], reasons.get(t) or {}) for t, r in (summary.get("rows") or {}).items()
    }
    expected: list[str] = []
    for name, src in (
        summary.get("source_rows") or {}
    ).items():  # a mapping's sources (Online Retail's lines)
        ok, left = split_expected(src)
        why = src.get("expected_rejects", {})
        expected += [f"source {name} {n:,} of {src['in']:,} ({r}: {why[r]['why']})" for r, n in ok.items()]
        tables[f"source {name}"] = (src["in"], sum(left.values()), left)
    return tables, expected


def split_expected(src: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    """A mapping source's rejects (`source_rows`' entry) as (expected: within the share the mapping declares,
    the others by reason: a reason above its share named so, an export that lost the column?)."""
    left = dict(src["rejected_by_reason"])
    expected = {}
    for reason, declared in src.get("expected_rejects", {}).items():
        n, share = left.get(reason, 0), declared["max_share"]
        if n and n <= share * src["in"]:
            expected[reason] = left.pop(reason)
        elif n:
            left[f"{reason}, more than the {share:.0%} the mapping expects"] = left.pop(reason)
    return expected, left


def said(summary: Mapping[str, Any], used_by: str) -> list[tuple[str, str]]:
    """The (warning or note, text) lines on `summary`'s rejected rows (`rows_summary`, or a scoring manifest):
    `used_by` ends "not used by ..." ("these scores", "this model")."""
    tables, expected = _rejected_tables(summary)
    out = []
    rejected = {t: r for t, r in tables.items() if r[1]}
    if rejected:  # rows in = accepted + rejected: a batch job alerts on what the run did not read
        listed = "; ".join(
            f"{t} {n:,} of {rows:,}"
            + (f" ({', '.join(f'{k}: {v:,}' for k, v in why.items())})" if why else "")
            for t, (rows, n, why) in rejected.items()
        )
        total = sum(r[1] for r in rejected.values())
        out.append(("warning", f"{rows_rejected(total)}, not used by {used_by}: {listed}"))
    unlisted = unlisted_customers(summary)
    if unlisted:
        out.append(("warning", unlisted))
    if expected:  # in the rejects with their reason, as the mapping expects (`sources.*.expected_rejects`)
        out.append(
            ("note", f"rows the mapping expects to reject, not used by {used_by}: " + "; ".join(expected))
        )
    return out


#: the characters of a source's name kept in an MLflow param key (MLflow's own set, less `/` and `:`: a `/` can
#: make a key that is not a unique path, a `:` is refused on Windows); the name's length kept in one
_KEY_CHARS = re.compile(r"[^A-Za-z0-9_.\- ]")
_KEY_NAME_MAX = 150  # "rows_expected_rejects.source." + 150 + a digest: within MLflow's 250
_DIGEST = re.compile(r"-[0-9a-f]{10}$")


def param_name(name: str) -> str:
    """A mapping's source name (free text: `lines (2011)`) as the end of an MLflow param key: itself when MLflow
    takes it; otherwise its other characters replaced by `_`, cut to `_KEY_NAME_MAX` and ended by a digest of the
    name (was: `lines (2011)` refused by MLflow after the fit, `cvp train` failing). Two names never give one key:
    a name kept as it is never ends as a digest does (one that does gets a digest too)."""
    safe = _KEY_CHARS.sub("_", name)[:_KEY_NAME_MAX]
    if safe == name and not _DIGEST.search(name):
        return name
    return f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:10]}"


def unlisted_customers(summary: Mapping[str, Any]) -> str | None:
    """With a customers table, what its side tables' `unknown <customer ref>` rejects say, per table: rows naming
    a customer the customers table does not list (prospects, trial users, customers erased under the GDPR: normal
    rows, so no stop as for the orders, `features.crossrefs.check_respelled_refs`) or holds on a rejected row."""
    from features.contract import TABLES

    reasons = summary.get("rejected_by_reason") or {}
    if "customers" not in (summary.get("rows") or {}):
        return None
    counts = [
        f"{t} {n:,} ({ref})"
        for t, why in reasons.items()
        if t in TABLES and t != "orders"
        for ref in TABLES[t].customer_refs
        if (n := why.get(f"unknown {ref}", 0))
    ]
    if not counts:
        return None
    return (
        "rows naming a customer the customers table does not list (or lists on a rejected row), rejected "
        f"`unknown <column>`: {'; '.join(counts)} (prospects, trial users, erased customers?)"
    )


def rows_document(summary: Mapping[str, Any], used_by: str) -> dict[str, Any]:
    """`rejected_rows.json`: `summary` (`rows_summary`: counts by table, source and reason, never a row's values)
    and what was `said` of it. The one document of a training run (an MLflow artefact) and of a backtest (a file
    of its `--out`), so two backtests, one on a fifth fewer orders, differ where a data scientist compares them."""
    return dict(summary) | {"said": [{k: t} for k, t in said(summary, used_by)]}


def training_params(summary: Mapping[str, Any]) -> dict[str, int]:
    """A training run's MLflow params on its input rows: per table and source, rows in and rejected (the
    expected ones of a mapping apart), comparable across runs in MLflow's run comparison. A source by its
    `param_name`: the name in `rejected_rows.json`."""
    out = {}
    for t, r in (summary.get("rows") or {}).items():
        out[f"rows_in.{t}"], out[f"rows_rejected.{t}"] = r["in"], r["rejected"]
    for name, src in (summary.get("source_rows") or {}).items():
        ok, left = split_expected(src)
        key = param_name(name)
        out[f"rows_in.source.{key}"], out[f"rows_rejected.source.{key}"] = src["in"], sum(left.values())
        out[f"rows_expected_rejects.source.{key}"] = sum(ok.values())
    return out
