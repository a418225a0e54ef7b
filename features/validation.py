"""Validate raw tables against the data contract: structural errors stop, row-level problems become rejects.

Contract in: `raw: Mapping[str, pd.DataFrame]`, one raw frame per table as read from files (any dtypes; strings are
fine). Contract out: `ValidationResult` with
- `tables`: the accepted rows in the validated representation (see `features.contract`), original row order kept;
- `rejects`: per table, the original rows (as read) with `source_row` (0-based position in the input) and `reason`;
- `report`: per table, rows in, accepted, rejected by reason, ignored columns.
Invariant: for every table, rows in == accepted + rejected. A row is rejected for the first problem found, in the
order the checks run (column parsing, then row rules, then keys, then references across tables).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features.contract import TABLES, TICKET_KINDS, Column, Table
from features.schemas import check_tables

MIN_DATE = pd.Timestamp("1900-01-01")
MAX_DATE = pd.Timestamp("2100-01-01")
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")
_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


# Defined in a module without imports so the CLI can catch it before pandas loads; re-exported here.
from features.errors import StructuralError  # noqa: E402


@dataclass
class TableReport:
    table: str
    rows_in: int
    accepted: int
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    ignored_columns: tuple[str, ...] = ()

    @property
    def rejected(self) -> int:
        return sum(self.rejected_by_reason.values())


@dataclass
class ValidationResult:
    tables: dict[str, pd.DataFrame]
    rejects: dict[str, pd.DataFrame]
    report: dict[str, TableReport]

    @property
    def rows_rejected(self) -> int:
        return sum(r.rejected for r in self.report.values())


def _examples(frame: pd.DataFrame, mask: pd.Series | None = None, n: int = 5) -> str:
    rows = frame if mask is None else frame[mask]
    return rows.head(n).to_string(max_colwidth=40)


def _blank(s: pd.Series) -> pd.Series:
    """True where a raw value is missing or an empty/whitespace string (no copy of the strings is made)."""
    missing = s.isna()
    if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
        missing = missing | s.astype("str").str.fullmatch(r"\s*").fillna(False).astype(bool)
    return missing


def _clean_text(s: pd.Series) -> pd.Series:
    """Strip surrounding whitespace, blanks become missing; copies the strings only when something changes."""
    text = s if isinstance(s.dtype, pd.StringDtype) else s.astype("str")
    if text.str.contains(r"^\s|\s$", regex=True, na=False).any():
        text = text.str.strip()
    blank = _blank(s)
    return text.where(~blank, None) if blank.any() else text


def parse_ids(s: pd.Series) -> pd.Series:
    """Ids as strings. Integers stay exact; floats that are whole numbers lose the spurious '.0'."""
    if pd.api.types.is_float_dtype(s.dtype):
        whole = s.notna() & (s % 1 == 0)
        out = s.astype("str")
        out = out.where(~whole, s[whole].astype("int64").astype("str")) if whole.any() else out
        return out.where(s.notna(), None).astype("str")
    return _clean_text(s)


def _parse_timestamps_native(s: pd.Series, timezone: str) -> pd.Series:
    """Parse to naive wall-clock time in `timezone`, at whatever resolution pandas picks (no overflow)."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert(timezone).dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return s
    text = s.astype("str").str.strip()
    text = text.where(~_blank(s), None)
    has_offset = text.str.contains(_OFFSET, na=False)
    naive = text.notna() & ~has_offset
    parts = []
    if naive.any():
        parts.append(pd.to_datetime(text[naive], errors="coerce", format="mixed").astype("datetime64[us]"))
    if has_offset.any():
        aware = pd.to_datetime(text[has_offset], errors="coerce", utc=True, format="mixed")
        parts.append(aware.dt.tz_convert(timezone).dt.tz_localize(None).astype("datetime64[us]"))
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[us]")
    for part in parts:
        out[part.index] = part
    return out


def _impossible(t: pd.Series) -> pd.Series:
    return t.notna() & ((t < MIN_DATE) | (t >= MAX_DATE))


def parse_timestamps(s: pd.Series, timezone: str) -> pd.Series:
    """Parse dates or date-times, naive or with an offset, to naive `datetime64[ns]` wall-clock time in `timezone`.

    Naive input is taken to already be in `timezone`. Unparseable values and dates outside 1900-2099 become NaT
    (the caller rejects them with a reason).
    """
    t = _parse_timestamps_native(s, timezone)
    return t.where(~_impossible(t)).astype("datetime64[ns]")


def parse_numbers(s: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("float64")
    return pd.to_numeric(s.astype("str").str.strip().where(~_blank(s), None), errors="coerce").astype(
        "float64"
    )


def parse_bools(s: pd.Series) -> pd.Series:
    """Booleans from bool dtype or text (true/false, yes/no, 1/0). Unparseable values become NA (caller rejects)."""
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean")
    text = s.astype("str").str.strip().str.lower()
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[text.isin(_TRUE)] = True
    out[text.isin(_FALSE)] = False
    return out


def _parse_column(col: Column, s: pd.Series, timezone: str) -> pd.Series:
    if col.kind == "id":
        return parse_ids(s)
    if col.kind == "text":
        return _clean_text(s)
    if col.kind == "timestamp":
        return _parse_timestamps_native(s, timezone)
    if col.kind == "bool":
        return parse_bools(s)
    return parse_numbers(s)  # money, number, rating


class _Rejector:
    """Collects the first rejection reason per row."""

    def __init__(self, n: int) -> None:
        self.reason = np.full(n, None, dtype=object)

    def add(self, mask: pd.Series | np.ndarray, reason: str | pd.Series) -> None:
        m = np.asarray(mask, dtype=bool) & pd.isna(self.reason)
        if not m.any():
            return
        if isinstance(reason, pd.Series):
            self.reason[m] = reason.to_numpy(dtype=object)[m]
        else:
            self.reason[m] = reason

    @property
    def ok(self) -> np.ndarray:
        return pd.isna(self.reason)


def _structural_checks(table: Table, raw: pd.DataFrame) -> None:
    missing = [c for c in table.required_columns if c not in raw.columns]
    if missing:
        raise StructuralError(
            f"table {table.name!r} is missing required column(s) {', '.join(missing)}; "
            f"columns present: {', '.join(map(str, raw.columns))}.\nFirst rows:\n{_examples(raw)}"
        )


def _check_parsed(table: Table, col: Column, raw: pd.Series, parsed: pd.Series, rej: _Rejector) -> None:
    given = ~_blank(raw)
    if col.kind in ("id", "text"):
        bad = pd.Series(False, index=raw.index)
    else:
        bad = given & parsed.isna()
    if given.any() and bad.sum() == given.sum() and len(raw) >= 1:
        what = {"timestamp": "a date", "bool": "true/false", "id": "an id", "text": "text"}.get(
            col.kind, "a number"
        )
        raise StructuralError(
            f"table {table.name!r}, column {col.name!r}: no value parses as {what} (wrong type throughout).\n"
            f"Example rows:\n{_examples(raw.to_frame(), given)}"
        )
    rej.add(bad, f"unparseable {col.name}")
    if col.required:
        rej.add(~given, f"missing {col.name}")
    if col.kind == "timestamp":
        rej.add(_impossible(parsed), f"impossible date in {col.name}")


def _row_rules(name: str, t: pd.DataFrame, rej: _Rejector) -> None:
    """Row rules beyond types: signs, ranges, order of dates, allowed values."""

    def has(c: str) -> bool:
        return c in t.columns

    if name == "orders":
        rej.add(t["revenue"] < 0, "negative revenue")
        for c in ("cost", "discount"):
            if has(c):
                rej.add(t[c] < 0, f"negative {c}")
        if has("quantity"):
            rej.add(t["quantity"] <= 0, "non-positive quantity")
    elif name == "returns":
        rej.add(t["amount"] <= 0, "non-positive return amount")
    elif name == "tickets":
        rej.add(t["effort_minutes"] < 0, "negative effort_minutes")
        if has("closed_at"):
            rej.add(t["closed_at"] < t["opened_at"], "closed_at before opened_at")
        if has("kind"):
            rej.add(t["kind"].notna() & ~t["kind"].str.lower().isin(TICKET_KINDS), "unknown ticket kind")
        if has("satisfaction"):
            s = t["satisfaction"]
            rej.add(s.notna() & (~s.between(1, 5) | (s % 1 != 0)), "satisfaction outside 1-5")
    elif name == "invoices":
        rej.add(t["amount"] < 0, "negative invoice amount")
        rej.add(t["due_at"] < t["issued_at"], "due_at before issued_at")
        if has("paid_at"):
            rej.add(t["paid_at"] < t["issued_at"], "paid before issued")
    elif name == "referrals":
        rej.add(t["referrer_id"] == t["referred_id"], "self-referral")
    elif name == "account_managers":
        if has("left_at") and has("started_at"):
            rej.add(t["left_at"] < t["started_at"], "left_at before started_at")


def _validate_table(table: Table, raw: pd.DataFrame, timezone: str) -> tuple[pd.DataFrame, _Rejector, tuple]:
    _structural_checks(table, raw)
    raw = raw.reset_index(drop=True)
    rej = _Rejector(len(raw))
    parsed: dict[str, pd.Series] = {}
    for col in table.columns:
        if col.name not in raw.columns:
            continue
        value = _parse_column(col, raw[col.name], timezone)
        _check_parsed(table, col, raw[col.name], value, rej)
        if col.kind == "timestamp":
            value = value.where(~_impossible(value)).astype("datetime64[ns]")
        parsed[col.name] = value
    t = pd.DataFrame(parsed, index=raw.index)
    if "kind" in t.columns and table.name == "tickets":
        t["kind"] = t["kind"].str.lower()
    _row_rules(table.name, t, rej)
    if table.key is not None:
        ok = pd.Series(rej.ok, index=t.index)
        # only accepted rows compete for a key: a duplicate of an already-rejected row is judged on its own
        dup = ok & t[table.key].where(ok).duplicated(keep="first") & t[table.key].notna()
        rej.add(dup, f"duplicate {table.key}")
    ignored = tuple(str(c) for c in raw.columns if c not in table.column_names)
    return t, rej, ignored


def validate_tables(raw: Mapping[str, pd.DataFrame], timezone: str = "UTC") -> ValidationResult:
    """Validate every present table; raise `StructuralError` on structural problems.

    `raw` keys outside the contract are a structural error (a misnamed file must not be silently ignored).
    """
    unknown = sorted(set(raw) - set(TABLES))
    if unknown:
        raise StructuralError(f"unknown table(s) {', '.join(unknown)}; the contract has {', '.join(TABLES)}")
    if "orders" not in raw:
        raise StructuralError("required table 'orders' is missing (expected orders.csv or orders.parquet)")

    parsed: dict[str, tuple[pd.DataFrame, _Rejector, tuple]] = {}
    for name, frame in raw.items():
        parsed[name] = _validate_table(TABLES[name], frame, timezone)

    # Managers first: a customer row rejected for an unknown manager is then unknown to the other tables.
    if "account_managers" in parsed:
        am, am_rej, _ = parsed["account_managers"]
        known_am = pd.Index(am.loc[am_rej.ok, "account_manager_id"].dropna().unique())
        for name in ("customers", "assignments"):
            if name in parsed:
                t, rej, _ = parsed[name]
                if "account_manager_id" in t.columns:
                    rej.add(
                        t["account_manager_id"].notna() & ~t["account_manager_id"].isin(known_am),
                        "unknown account_manager_id",
                    )

    # References across tables: only against the customers table when it exists (a ticket from a customer
    # with no orders yet is legitimate, so orders alone do not define who exists).
    if "customers" in parsed:
        cust, cust_rej, _ = parsed["customers"]
        known = pd.Index(cust.loc[cust_rej.ok, "customer_id"].dropna().unique())
        for name, (t, rej, _) in parsed.items():
            for ref in TABLES[name].customer_refs:
                rej.add(t[ref].notna() & ~t[ref].isin(known), f"unknown {ref}")
    tables: dict[str, pd.DataFrame] = {}
    rejects: dict[str, pd.DataFrame] = {}
    report: dict[str, TableReport] = {}
    for name, (t, rej, ignored) in parsed.items():
        ok = rej.ok
        # No copy when every row is accepted (the usual case): a second copy of a large table is the peak.
        tables[name] = t if ok.all() else t[ok].reset_index(drop=True)
        bad = raw[name].reset_index(drop=True)[~ok].copy()
        bad.insert(0, "source_row", np.flatnonzero(~ok))
        bad["reason"] = rej.reason[~ok].astype(str)
        rejects[name] = bad.reset_index(drop=True)
        counts = bad["reason"].value_counts().sort_index()
        report[name] = TableReport(
            table=name,
            rows_in=len(t),
            accepted=int(ok.sum()),
            rejected_by_reason={str(k): int(v) for k, v in counts.items()},
            ignored_columns=ignored,
        )
        assert report[name].rows_in == report[name].accepted + report[name].rejected
    check_tables(tables)  # the boundary: whatever passed row checks must satisfy the pandera schemas
    return ValidationResult(tables=tables, rejects=rejects, report=report)
