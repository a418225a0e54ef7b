"""The pandera schemas' row rules are the validation's row checks (issue 14: pandera is not run twice).

`validate_tables` checks only the columns and dtypes of its output against the pandera schemas; their value, null
and key rules must already hold for every accepted row. Rule by rule, derived from the schemas themselves: a row
breaking it is rejected, and what is accepted passes the full pandera validation.
"""

from __future__ import annotations

import pandas as pd
import pytest

from features.contract import TABLES, TICKET_KINDS
from features.schemas import check_tables, table_schema
from features.validation import validate_tables

VALID = {"id": "x", "timestamp": "2024-01-01", "money": "10", "number": "3", "rating": "3", "bool": "true"}
#: Values breaking each pandera check, by the check's name.
BREAKING = {
    "greater_than_or_equal_to": ["-1", "-0.01"],
    "greater_than": ["0", "-1"],
    "isin": ["0", "6", "2.5", "bogus"],
}


def _valid(table: str, column: str, row: int) -> str:
    col = next(c for c in TABLES[table].columns if c.name == column)
    if column == TABLES[table].key or (table == "referrals" and column == "referrer_id"):
        return f"{column}{row}"
    if column == "kind":
        return sorted(TICKET_KINDS)[0]
    if (table, column) == ("orders", "cost"):  # below the revenue: a cost equal to it on most orders stops
        return "4"
    return VALID.get(col.kind, "text")


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for name in TABLES:
        schema = table_schema(name)
        for column, spec in schema.columns.items():
            for check in spec.checks:
                cases += [(name, column, bad) for bad in BREAKING[check.name]]
            if not spec.nullable:
                cases += [(name, column, ""), (name, column, " ")]
            if spec.unique:
                cases.append((name, column, "duplicate"))
    return cases


def _raw(table: str, bad_rows: list[tuple[str, str]]) -> pd.DataFrame:
    """Two valid rows, then one row per (column, bad value) that is valid everywhere else."""
    columns = [c.name for c in TABLES[table].columns if c.required]
    columns += sorted({c for c, _ in bad_rows} - set(columns))
    n = 2 + len(bad_rows)
    rows = {c: [_valid(table, c, i) for i in range(n)] for c in columns}
    for i, (column, bad) in enumerate(bad_rows, start=2):
        rows[column][i] = rows[column][0] if bad == "duplicate" else bad
    return pd.DataFrame({c: pd.Series(v, dtype="str") for c, v in rows.items()})


@pytest.mark.parametrize("table", list(TABLES))
def test_rows_breaking_a_schema_rule_are_rejected_and_the_rest_passes_pandera(table):
    bad_rows = [(column, bad) for name, column, bad in _cases() if name == table]
    raw = {table: _raw(table, bad_rows)}
    if table != "orders":  # the one required table
        raw["orders"] = _raw("orders", [])
    result = validate_tables(raw)
    rejected = result.rejects[table]
    assert rejected["source_row"].tolist() == list(range(2, 2 + len(bad_rows))), rejected
    assert result.report[table].accepted == 2
    check_tables(result.tables)  # the full pandera validation, rows included


def test_every_schema_rule_has_a_case():
    names = {check.name for t in TABLES for spec in table_schema(t).columns.values() for check in spec.checks}
    assert names <= set(BREAKING)
    assert len(_cases()) > 40
