"""Hostile input classes closed in the fourteenth hunt. Tiny hand-written tables; no training, no model."""

from __future__ import annotations

import pytest

from features.validation import validate_tables
from tests.helpers import raw_orders

UNIX_REASON = "Unix time in ordered_at (seconds or milliseconds since 1970-01-01 UTC, not a date: export ISO 8601 dates)"


@pytest.mark.parametrize("date_format", [None, "%Y-%m-%d"])
def test_a_stray_unix_time_among_dates_is_rejected_naming_the_form(date_format):
    """A single `1704067200` (a database's timestamp as a number) among ISO dates, under the 1% of the stop for a
    part of the column in another form: was rejected `ambiguous or unknown date format in ordered_at` (or `does not
    match the declared date format`), the reason naming nothing the user could act on. Now its own reason, with the
    predicate of the stops' hint (`features.dates.UNIX_TIME`); another text keeps the generic one."""
    orders = raw_orders(400)
    orders.loc[[5, 6, 7], "ordered_at"] = ["1704067200", "1704067200123", "5th of May"]
    formats = {} if date_format is None else {"orders.ordered_at": date_format}
    report = validate_tables({"orders": orders}, date_formats=formats).report["orders"]
    generic = (
        "ambiguous or unknown date format in ordered_at"
        if date_format is None
        else f"ordered_at does not match the declared date format {date_format}"
    )
    assert report.rejected_by_reason == {UNIX_REASON: 2, generic: 1}
