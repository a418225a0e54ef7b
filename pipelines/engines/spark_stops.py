"""The pandas engine's column-level stops on the Spark engine's input: a column following another convention than
the contract's stops the run (exit 2, the pandas engine's message) before any reject is written, as
`features.validation.validate_tables` does, instead of rejecting its rows one by one.

The stops and their predicates are the pandas engine's own (`features.numbers`, `features.keys`,
`features.crossrefs`); what Spark adds is how a whole column reaches them. The executors mark each row with the
predicates' row masks (`spark_input.check_rows`: a placeholder word or date for a missing value, a number in a
locale's format, a large, negative, non-zero or off-scale number; `spark_checks.check_bucket`: an unknown manager or
customer, over every row as `reject_unknown` returns them) and the one aggregation of the checks
(`spark_stats.column_stats`) sums them per column, beside the counts per reason (`duplicate <key>`). From those sums the
driver knows whether a stop fires; only then does it bring that table's rows (every row, in source order) to the
driver and call the pandas function on them, which raises with the pandas engine's message and example rows. A run
that stops nowhere pays nothing beyond the sums (no job, no rows collected).

Order of the stops (that of `validate_tables`): per table, per contract column: no value parses, placeholders,
locale numbers, a required column empty on every row (its `GIVEN` sum 0), placeholder dates (`9999-12-31` for
every missing date: `features.placeholder_dates.placeholder_rows`' rows); then the table's conventions (signs, cost above
revenue, quantities 0, effort in another unit, rating scales: `conventions.check_conventions`, called when any of their
sums crosses its threshold; for the effort's median, when half the positive efforts lie beyond one end of the
range, which a median outside it needs), a row rule rejecting most rows (`row_rules.check_row_conventions`, from
the counts per reason) and its key (several rows per key); after every table: an incomplete managers export, a
customers table without a usable row, customer ids spelled otherwise; last, most returns above their order (another
unit), naming another customer's order or dated before it. (Categories relabelled since training are judged on the
driver for both engines, `run_score`'s `features.contract.check_categories` on the accepted tables.)
The stops after every table (managers, customer references, returns, referrals, churn dates, currencies):
`pipelines.engines.spark_cross_stops`; this module keeps `TableRows`, the column-level stops (`table_stops`) and
the early dates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.contract import TABLES, Table
from pipelines.engines.spark_checks import (
    ACCOUNTING,
    BAD,
    CALENDAR,
    DATED,
    DIGITS,
    FIRST,
    FOLDED_ID,
    FORMULA,
    FRONTIER,
    GROUPED,
    HIDDEN,
    LOCALE,
    MINUS,
    MOJIBAKE_TEXT,
    OTHER_DATE,
    PAIRS,
    PLACEHOLDER,
    PLACEHOLDER_DATE,
    RAW,
    REASON,
    REPEAT,
    ROW,
    SCIENTIFIC,
    SHEET,
    SWAPPED,
    TABLE,
    UNIT,
    UNIT_MEDIANS,
    UNKNOWN,
    UTC_MIDNIGHT,
    VAL,
    _q,
    _wide,
    validated_table,
)

if TYPE_CHECKING:  # pyspark is an optional extra: imported only when the Spark engine runs
    from pyspark.sql import DataFrame as SparkDataFrame


# the mask columns a firing stop's pandas function reads of `TableRows.rows` (the driver collects these only)
ROW_MASKS = (
    BAD,
    PLACEHOLDER,
    PLACEHOLDER_DATE,
    LOCALE,
    UNIT,
    DIGITS,
    SHEET,
    HIDDEN,
    MOJIBAKE_TEXT,
    FORMULA,
    SCIENTIFIC,
    ACCOUNTING,
    MINUS,
    FOLDED_ID,
    SWAPPED,
    OTHER_DATE,
    CALENDAR,
    UTC_MIDNIGHT,
    GROUPED,
    UNKNOWN,
    REPEAT,
)


class TableRows:
    """Every row of one table of the judged union (rejected or not), on the driver in source order, collected on
    first use (one job): what a firing stop's pandas function reads."""

    def __init__(self, judged: SparkDataFrame, name: str) -> None:
        self.judged, self.name = judged, name
        self._rows: pd.DataFrame | None = None

    @property
    def rows(self) -> pd.DataFrame:
        if self._rows is None:
            from pyspark.sql import functions as F

            own = [_q(c) for c in self.judged.columns if c.startswith(f"{self.name}|")]
            got = (
                self.judged.filter(F.col(TABLE) == self.name)
                .select(TABLE, ROW, REASON, *ROW_MASKS, *own)
                .toPandas()
            )
            self._rows = got.sort_values(ROW, kind="stable").reset_index(drop=True)
        return self._rows

    def parsed(self) -> pd.DataFrame:
        """The table's validated columns, every row (the pandas engine's `t` before its rows are judged)."""
        return validated_table(self.rows, self.name)

    def raw(self, column: str) -> pd.Series:
        """A column as read (text), every row, index = source row."""
        return pd.Series(self.rows[_wide(self.name, RAW + column)].to_numpy(dtype=object), name=column)

    def bits(self, mask: str, i: int) -> pd.Series:
        """Bit `i` of a mask column as a boolean row mask, index = source row."""
        values = self.rows[mask].fillna(0).to_numpy(dtype=np.int64)
        return pd.Series((values >> i) & 1 == 1)

    def reason_is(self, reason: str) -> pd.Series:
        return pd.Series(self.rows[REASON].to_numpy(dtype=object) == reason)


def _sum(stats: pd.DataFrame, column: str) -> int:
    return int(stats[column].sum()) if column in stats.columns else 0


def table_stops(
    table: Table,
    names: list[str],
    stats: pd.DataFrame,
    rows: TableRows,
    throughout: Callable[[int], None],
    date_formats: Mapping[str, str],
) -> None:
    """The column-level stops of one table in the pandas engine's order (see module), from its rows of
    `spark_stats.column_stats`; `throughout(i)`: the "no value parses" check of column i (`spark_checks._check_throughout`); `date_formats`:
    the declared ones (`table.column` -> format)."""
    from features import (
        conventions,
        date_forms,
        decimal_ids,
        folded_ids,
        ids,
        keys,
        number_forms,
        numbers,
        placeholder_words,
        row_rules,
        unparsed_columns,
    )
    from features.utc_midnights import check_utc_midnights, utc_midnights_fire

    rows_in = _sum(stats, "n")
    for i, column in enumerate(names):
        throughout(i)
        found = _sum(stats, f"p{i}")
        if found and found >= placeholder_words.share_floor(rows_in):
            placeholder_words.check_missing_placeholders(
                table.name, column, rows.raw(column), rows.bits(PLACEHOLDER, i)
            )
        floor = placeholder_words.share_floor(rows_in)
        if _sum(stats, f"e{i}") >= floor and _sum(stats, f"i{i}") >= floor:  # `42.0` beside `42`
            decimal_ids.check_decimal_ids(table.name, column, rows.raw(column), rows.parsed()[column])
        cut = _sum(stats, f"K{i}")  # every long id cut to 15 digits (`7654321000000010`)
        if cut >= decimal_ids.CUT_IDS and cut == _sum(stats, f"W{i}"):
            decimal_ids.check_cut_ids(table.name, column, rows.raw(column), rows.parsed()[column])
        given = _sum(stats, f"g{i}")
        ids.check_email_ids(table.name, column, _sum(stats, f"M{i}"), given)  # counted, never shown
        ids.check_email_ids(table.name, column, _sum(stats, f"B{i}"), given, "phone numbers")
        if numbers.check_share(_sum(stats, f"U{i}"), given):  # `Ｃ００１`: ids in compatibility forms
            folded_ids.check_folded_ids(
                table.name, column, rows.raw(column), rows.bits(FOLDED_ID, i).to_numpy(), given
            )
        # `#VALUE!` (any column), `12.50\u200b`, `="12.50"`: `features.number_forms._OTHER_FORMS`
        forms = (
            ("y", SHEET, "sheet"), ("v", HIDDEN, "invisible"), ("Q", FORMULA, "formula"),
            ("A", ACCOUNTING, "accounting"), ("T", MINUS, "minus"), ("X", SCIENTIFIC, "id_scientific"),
            ("J", MOJIBAKE_TEXT, "mojibake"),
        )  # fmt: skip
        if table.column(column).kind == "id":  # `="00042"`, `1.23457E+11`, then `#REF!`: the pandas order
            forms = tuple(
                sorted(forms, key=lambda f: "QXyvATJ".index(f[0]))
            )  # (`column_checks._check_parsed`)
        for letter, mask, form in forms:
            found = _sum(stats, f"{letter}{i}")
            if numbers.check_share(found, given):
                form = "id_formula" if form == "formula" and table.column(column).kind == "id" else form
                number_forms.check_number_form(
                    table.name, column, rows.raw(column), rows.bits(mask, i).to_numpy(), given, form
                )
        found = _sum(stats, f"C{i}")  # `2566-01-05`: a Thai Buddhist-era year, another calendar's
        if numbers.check_share(found, given):
            date_forms.check_other_calendars(
                table.name, column, rows.raw(column), rows.bits(CALENDAR, i).to_numpy(), given
            )
        if utc_midnights_fire(_sum(stats, f"Z{i}"), given):  # `2023-01-05T00:00:00Z` on every row
            check_utc_midnights(
                table.name, column, rows.raw(column), rows.bits(UTC_MIDNIGHT, i).to_numpy(), given
            )
        found = _sum(stats, f"S{i}")  # `01/14/2023` under `%d/%m/%Y`: written month first
        if numbers.check_share(found, given):
            date_forms.check_swapped_dates(
                table.name, column, rows.raw(column), rows.bits(SWAPPED, i).to_numpy(), given,
                date_formats[f"{table.name}.{column}"],
            )  # fmt: skip
        found = _sum(stats, f"D{i}")  # `15/01/2023` among ISO dates: two exports put together
        if numbers.check_share(found, given):
            date_forms.check_other_dates(
                table.name, column, rows.raw(column), rows.bits(OTHER_DATE, i).to_numpy(), given,
                date_formats.get(f"{table.name}.{column}"),
            )  # fmt: skip
        found = _sum(stats, f"j{i}")  # `１２.５０`, `١٢`: another script's digits
        if numbers.check_share(found, given):
            number_forms.check_other_digits(
                table.name, column, rows.raw(column), rows.bits(DIGITS, i).to_numpy(), given
            )
        found, given, large = _sum(stats, f"l{i}"), _sum(stats, f"g{i}"), _sum(stats, f"L{i}")
        if found and not (
            found < numbers.LOCALE_SHARE * given and (found < numbers.MIN_ROWS or found < large)
        ):
            numbers.check_locale_numbers(
                table.name, column, rows.raw(column), rows.bits(LOCALE, i).to_numpy(), given,
                rows.parsed()[column],
            )  # fmt: skip
        found = _sum(stats, f"k{i}")  # `$12.50`, `15%`: a currency sign or unit on 1% of the values
        if numbers.check_share(found, given):
            number_forms.check_unit_numbers(
                table.name, column, rows.raw(column), rows.bits(UNIT, i).to_numpy(), given
            )
        if _sum(stats, f"G{i}") >= numbers.MIN_ROWS and not _sum(stats, f"O{i}"):  # `1.234` for 1234
            numbers.check_point_groups(
                table.name, column, rows.raw(column), rows.bits(GROUPED, i).to_numpy(), 0, _sum(stats, f"I{i}"),
                given,
            )  # fmt: skip
        if table.column(column).required:  # empty on every row: an export that emptied it
            unparsed_columns.check_required_given(table.name, column, rows_in, _sum(stats, f"g{i}"))
        found = _sum(stats, f"P{i}")  # `9999-12-31` written for every missing date
        if found and found >= placeholder_words.share_floor(rows_in):
            placeholder_words.check_missing_placeholders(
                table.name, column, rows.raw(column), rows.bits(PLACEHOLDER_DATE, i)
            )
        bad, given = _sum(stats, f"b{i}"), _sum(stats, f"g{i}")  # `$12.50`, `WAHR` on most rows
        kind = table.column(column).kind  # a true/false column: on 1% (`unparsed_columns.unparsed_share`)
        if kind not in ("id", "text") and bad >= max(
            numbers.MIN_ROWS, unparsed_columns.unparsed_share(kind) * given
        ):
            unparsed_columns.check_mostly_unparsed(
                table.name, column, rows.raw(column), rows.bits(BAD, i), given
            )
    fires = False
    for name, column in conventions.POSITIVE_MONEY:
        if name == table.name and column in names:
            i = names.index(column)
            negative = _sum(stats, f"n{i}")
            fires |= negative >= numbers.MIN_ROWS and negative > 0.5 * _sum(stats, f"z{i}")
    for name, column in conventions.NEVER_ALL_TRUE:  # `disputed` true on every invoice (`NONZERO`: true)
        if name == table.name and column in names:
            true = _sum(stats, f"z{names.index(column)}")
            fires |= true >= conventions.FLAG_VALUES_JUDGED and true == rows_in
    for name, column in conventions.NON_NEGATIVE:  # `-1` for an unknown cost or effort
        if name == table.name and column in names:
            fires |= _sum(stats, f"n{names.index(column)}") >= placeholder_words.share_floor(rows_in)
    for name, column in conventions.RATINGS:
        if name == table.name and column in names:
            i = names.index(column)
            outside, halves = _sum(stats, f"o{i}"), _sum(stats, f"V{i}")  # `7` of 10; `4.5`
            fires |= max(outside, halves) > 0 and max(outside, halves) >= max(
                numbers.MIN_ROWS, conventions.SCALE_SHARE * _sum(stats, f"r{i}")
            )
    pairs = [(c, PAIRS[(table.name, c)]) for c in names if (table.name, c) in PAIRS]
    for column, other in pairs:  # cost above revenue on most orders with both
        if other in names:
            i = names.index(column)
            above = _sum(stats, f"a{i}")
            fires |= above >= numbers.MIN_ROWS and above > 0.5 * _sum(stats, f"w{i}")
    for column, mask in (
        ("quantity", "q"),
        ("revenue", "n"),
    ):  # 0 or negative; refunds (`check_zero_quantities`)
        if table.name == "orders" and column in names:
            bad = _sum(stats, f"{mask}{names.index(column)}")
            fires |= bad >= placeholder_words.share_floor(rows_in)
    for name, column in UNIT_MEDIANS:  # the median outside its range needs half the values beyond it
        if name == table.name and column in names:
            i = names.index(column)
            positive = _sum(stats, f"m{i}")
            beyond = max(_sum(stats, f"h{i}"), _sum(stats, f"s{i}"))
            fires |= positive >= numbers.MIN_ROWS and 2 * beyond >= positive
    if fires:  # the pandas function judges exactly (and first the conventions it checks before)
        conventions.check_conventions(table.name, rows.parsed())
    # every ticket closed before opened: swapped; most efforts above their bound (`data.max_values`)
    counts = stats.dropna(subset=[REASON]).groupby(REASON, sort=False)["n"].sum().to_dict()
    if row_rules.fires(table.name, counts, rows_in):
        reasons = pd.Series(rows.rows[REASON].to_numpy(dtype=object))
        row_rules.check_row_conventions(table.name, rows.parsed(), reasons)
    key = table.key
    if key is not None and key in names:
        repeated = int(stats.loc[stats[REASON] == f"duplicate {key}", "n"].sum())
        if repeated and repeated >= max(keys.MIN_ROWS, keys.LINE_SHARE * rows_in):
            t = rows.parsed()
            keys.check_one_row_per_key(
                table.name, t, key, rows.reason_is(f"duplicate {key}").set_axis(t.index)
            )
    # the orders (invoices, returns, tickets) exported twice under new ids (`keys.repeated_rows`)
    if keys.repeat_fires(table.name, rows_in, _sum(stats, "t0")):
        keys.check_repeated_rows(table.name, rows.parsed(), rows.bits(REPEAT, 0))


def stray_decimals(stats: pd.DataFrame, columns: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Per table, its id columns whose ids written `42.0` are strays among ids written `42`
    (`features.decimal_ids.stray_decimal_columns`), from the one aggregation's sums of `DECIMAL` and `WHOLE` (`e<i>`,
    `i<i>`) over every row, as the pandas engine counts them."""
    from features.decimal_ids import stray_decimal_columns

    out: dict[str, list[str]] = {}
    for name, cols in columns.items():
        own = stats[stats[TABLE] == name]
        counts = {
            c: (_sum(own, f"e{i}"), _sum(own, f"i{i}"))
            for i, c in enumerate(cols)
            if TABLES[name].column(c).kind == "id"
        }
        if found := stray_decimal_columns(counts, _sum(own, "n")):
            out[name] = found
    return out


#: Per table, per date column: the latest date of its early side (`features.dates.last_early_date`).
EarlyDates = Mapping[str, Mapping[str, pd.Timestamp]]


def early_rows(
    table: Table, t: pd.DataFrame, rej: Any, early: Mapping[str, pd.Timestamp]
) -> dict[str, np.ndarray]:
    """A date years before every other of its column (`features.dates.isolated_early_dates`) on one batch of
    `table` (`t`: its validated columns, `rej`: its reasons after the row rules and bounds), where pandas judges
    it: column after column, on the rows still accepted. Per date column i: `DATED` bit i (the rows the rule
    looks at), `FIRST` (the batch's `early_count + 1` earliest of them) and `FRONTIER` (the latest of those, when
    the batch holds later dates): what `early_dates` judges the whole column from; then the rows dated up to the
    column's `early` date (found by a previous pass over the data) are rejected with the pandas reason."""
    from features.dates import early_count, early_reason

    out = {mask: np.zeros(len(t), dtype=np.int64) for mask in (DATED, FIRST, FRONTIER)}
    for i, name in enumerate(c.name for c in table.columns if c.name in t.columns):
        if table.column(name).kind != "timestamp":
            continue
        values = t[name].to_numpy(dtype="datetime64[ns]")
        at = np.flatnonzero(~np.isnat(values) & rej.ok)
        out[DATED][at] |= 1 << i
        if len(at):
            size = min(len(at), early_count(len(at)) + 1)
            first = at[np.argpartition(values[at], size - 1)[:size]] if size < len(at) else at
            out[FIRST][first] |= 1 << i
            if size < len(at):
                out[FRONTIER][first[np.argmax(values[first])]] |= 1 << i
        if name in early:
            dated = np.zeros(len(t), dtype=bool)
            dated[at] = True
            rej.add(dated & (values <= pd.Timestamp(early[name]).to_datetime64()), early_reason(name))
    return out


def early_dates(stats: pd.DataFrame, judged: SparkDataFrame, columns: Mapping[str, list[str]]) -> dict:
    """Per table and date column, the latest date of the column's early side (`features.dates.last_early_date`
    on its `early_count + 1` earliest dates), from the one aggregation's sums (`d<i>`: the rows the rule looks at)
    and the batches' earliest dates (`E<i>`, `F<i>`: `early_rows`). Those are the column's earliest dates up to
    the earliest `FRONTIER` (a batch sent every date below it); when they are fewer than needed and show a gap,
    one job takes the column's earliest dates in Spark. Without a gap among them, no date is that early. After a
    column with such dates, the table's later date columns are judged without its rows (as pandas, one column
    after the other) by two jobs each (their count and earliest dates)."""
    from pyspark.sql import functions as F

    from features.dates import EARLY_MIN_ROWS, early_count, last_early_date

    def earliest(rows: SparkDataFrame, wide: str, k: int) -> Any:
        got = rows.select(_q(wide)).orderBy(_q(wide)).limit(k + 1).toPandas()[wide]
        return last_early_date(np.sort(got.to_numpy(dtype="datetime64[ns]")))

    out: dict[str, dict[str, pd.Timestamp]] = {}
    for name, cols in columns.items():
        own = stats[stats[TABLE] == name]
        gone = None  # the rows an earlier date column of the table rejects
        for i, column in enumerate(cols):
            if TABLES[name].column(column).kind != "timestamp":
                continue
            wide = _wide(name, VAL + column)
            dated = (F.col(TABLE) == name) & (F.col(DATED).bitwiseAND(1 << i) > 0)
            if gone is not None:
                rows = judged.filter(dated & ~gone)
                n = rows.count()
                last = earliest(rows, wide, early_count(n)) if n >= EARLY_MIN_ROWS else None
            elif (n := _sum(own, f"d{i}")) < EARLY_MIN_ROWS:
                continue
            else:
                k = early_count(n)
                lists = [d for v in own[f"E{i}"] if v is not None for d in v]
                sent = np.sort(pd.to_datetime(pd.Series(lists)).to_numpy(dtype="datetime64[ns]"))
                frontier = pd.to_datetime(own[f"F{i}"]).min()
                below = sent if pd.isna(frontier) else sent[sent <= pd.Timestamp(frontier).to_datetime64()]
                last = last_early_date(sent[: k + 1])
                if (last is not None and len(below) < k + 1) or len(sent) < k + 1:
                    last = earliest(judged.filter(dated), wide, k)  # a gap the batches' dates cannot settle
            if last is not None:
                out.setdefault(name, {})[column] = pd.Timestamp(last)
                early = dated & (F.col(_q(wide)) <= F.lit(str(pd.Timestamp(last))).cast("timestamp_ntz"))
                gone = early if gone is None else gone | early
    return out
