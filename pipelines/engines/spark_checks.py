"""The checks of the Spark engine's input with one shuffle by customer bucket (issue 11).

Every table's rows are checked where they are read (`spark_input.check_rows`: parsing, row rules, bounds; no
shuffle), then ONE repartition of every customer table by customer bucket (`pipelines.engines.chunks.customer_buckets`,
the pandas engine's keyed hash) and ONE per-bucket Python step (`groupBy(bucket).applyInPandas` on the union of the
tables, tagged by table) run the checks that need other rows, with `features.validation`'s own functions:
duplicate customer ids (`customers.customer_id`, `referrals.referred_id`), unknown account managers (the managers
table is small: its checked rows go to every bucket, which takes the accepted ids from them) and unknown customers. Once every table is
bucketed by customer, all of these are bucket-local. A referral row goes to the bucket of its referred customer
(its key and `unknown referred_id`) and to its referrer's (`unknown referrer_id`); its two verdicts are joined back
in the pandas order of checks (key, referrer, referred).

Checks that cross buckets keep one aggregation per id column: `order_id`, `return_id`, `ticket_id`, `invoice_id`
and `account_manager_id` duplicates (a window per key over the rows accepted by the row checks: the first by
position wins, as pandas keeps the first by source row). Counts per table, input partition and reason, and the
"no value parses" column statistics come back in one aggregation over the union.

The returns judged against their orders and the latest order every bucket reads: `spark_orders`; the slot a
bucket's rows are grouped by (each bucket a task of its own): `spark_slots`.

Spark jobs per validation: one for the counts, one to bring the accepted rows to the driver, one per table with
rejects to write them (`spark_input.validate_spark` wires
these pieces together; a local CSV header is read on the driver, so the readers start no job).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from features.contract import TABLES, Column, Table

if TYPE_CHECKING:  # pyspark is an optional extra: imported only when the Spark engine runs
    from pyspark.sql import DataFrame as SparkDataFrame

RAW = "raw:"  # a column as read
VAL = "val:"  # the same column parsed (the validated representation)
ROW = "__source_row"
REASON = "__reason"
GIVEN = "__given"  # bit i: contract column i of the table holds a value in this row
BAD = "__bad"  # bit i: ... and it does not parse
# Column-level facts per row, bit i for contract column i as GIVEN (the pandas engine's column-level stops,
# judged over the whole column from their sums: `spark_stops`)
PLACEHOLDER = (
    "__placeholder"  # a word for a missing value (`features.placeholder_words.missing_placeholders`)
)
PLACEHOLDER_DATE = "__placeholder_date"  # a date for "no date": 9999-12-31, 1970-01-01 (`placeholder_dates.placeholder_rows`)
LOCALE = "__locale"  # a number in a locale's format (`features.numbers.locale_numbers`)
UNIT = "__unit"  # a number with a currency sign or unit (`features.number_forms.unit_numbers`)
DIGITS = (
    "__digits"  # a number in another script's digits (`features.number_forms.other_digits`: `１２`, `١٢`)
)
SHEET = (
    "__sheet"  # a spreadsheet's error value: number, date, flag (`features.number_forms.sheet_error_numbers`)
)
MOJIBAKE_TEXT = "__mojibake"  # an id or category encoded twice (`features.mojibake.mojibake_ids`: `MÃ¼ller`)
HIDDEN = "__hidden"  # an invisible character: number, date, flag (`features.number_forms.invisible_numbers`: `1\u200b2`)
FORMULA = "__formula"  # a number written `="12.50"` or `'12.50` (`features.number_forms.formula_numbers`)
SCIENTIFIC = "__scientific"  # an id a spreadsheet rounded, `1.23457E+11` (`features.ids.scientific_ids`)
#: bit 0: a customer with an accepted order a day or more after their `churned_at` (`features.crossrefs.
#: ordered_after_churn`, set by `check_bucket`: every order of a customer is in their bucket); bit 1: their
#: `churned_at` at the very instant of their last order (`churn_checks.churned_at_last_order`)
AFTER_CHURN = "__after_churn"
ACCOUNTING = (
    "__accounting"  # a negative written `(12.50)` or `12.50-` (`features.number_forms.accounting_numbers`)
)
MINUS = "__minus"  # a negative written `−12.50` (`features.number_forms.minus_numbers`)
MAIL = (
    "__mail"  # an id that is an e-mail address (`features.ids.email_ids`: personal data, `check_email_ids`)
)
PHONE = "__phone"  # an id that is a phone number (`features.ids.phone_ids`: personal data, `check_email_ids`)
FOLDED_ID = "__folded_id"  # an id in compatibility forms, `Ｃ００１` (`features.folded_ids.folded_ids`)
SWAPPED = "__swapped"  # a date of the declared format but for day and month (`date_forms.swapped_dates`)
OTHER_DATE = "__other_date"  # a date in another form than its column's (`date_forms.other_date_forms`)
CALENDAR = "__calendar"  # a date in a year of another calendar, `2566` (`date_forms.other_calendar_dates`)
UTC_MIDNIGHT = "__utc_midnight"  # a date written as midnight UTC, a day early here (`features.utc_midnights`)
GROUPED = "__grouped"  # a number written `1.234` (`features.numbers.point_groups`)
DOTTED = "__dotted"  # ... one holding a decimal point otherwise (`12.50`)
PLAIN = "__plain"  # ... one holding none (`12`)
DECIMAL = "__decimal"  # an id written `42.0` (`features.ids.decimal_ids`)
WHOLE = "__whole"  # an id written `42` (`features.ids.whole_ids`): both on 1%, `check_decimal_ids`
LONG_ID = "__long_id"  # an id of 16 digits or more (`features.decimal_ids.long_ids`)
CUT_ID = "__cut_id"  # ... ending in zeros past its 15th digit: every one, `check_cut_ids`
LARGE = "__large"  # a number of 1,000 or more (absolute value: `check_locale_numbers`' plain large amounts)
NEGATIVE = "__negative"  # a number below zero (`features.conventions.check_conventions`)
NONZERO = "__nonzero"  # a number other than zero; on a true/false column, a true (`check_flags_throughout`)
RATED = "__rated"  # a rating (`features.conventions.RATINGS` columns)
OUTSIDE = "__outside"  # ... outside its scale
HALVES = "__halves"  # ... inside it but not a whole number (`4.5`: `features.conventions.off_scale`)
NONPOSITIVE = "__nonpositive"  # a number of 0 or below (`features.conventions.check_zero_quantities`)
PAIRED = "__paired"  # a `PAIRS` column and its reference both given, the reference above 0
ABOVE = "__above"  # ... and the column at or above its reference (`features.conventions.no_margin`)
POSITIVE = "__positive"  # a `UNIT_MEDIANS` column above 0 (`features.conventions.check_effort_unit`)
HIGH = "__high"  # ... above the range its median must lie in
LOW = "__low"  # ... below it
#: bit 0: the row's currency column (`features.currency.CURRENCY_COLUMNS`) names another than `data.currency`;
#: bit 1: unused (a row marked as no sale is a row reject, `features.sale_status.no_sale_reasons`); bit 2:
#: its time-zone column names another zone than `data.timezone` (`features.zone_columns.other_zone_rows`); bit 3:
#: its refund column holds a refund and the data has no returns table (`features.refund_columns.refund_rows`)
CURRENCY = "__currency"
#: bit 0: a return naming an order accepted in the data (`features.return_checks.check_returns_against_orders`' count)
NAMED = "__named"
#: bit 0: an order (invoice, return, ticket) equal to another accepted one of its customer in every column but its
#: key (`features.keys.repeated_rows`, set by `check_bucket`: an export repeated under new ids)
REPEAT = "__repeat"
#: A date column judged over the whole column (`features.dates.isolated_early_dates`, `spark_stops.early_rows`):
DATED = "__dated"  # bit i: dated and accepted when the rule looks at column i
FIRST = "__first"  # ... and among the earliest dates of its batch (`spark_stops.early_rows`)
FRONTIER = "__frontier"  # ... the latest of those, when its batch holds later dates
#: Row masks summed per contract column by `spark_stats.column_stats` (aggregate prefix -> column; `E`, `F` and `u` are its other
#: aggregates: the earliest dates, the frontier, the unknown references).
MASKS = {
    "g": GIVEN, "b": BAD, "p": PLACEHOLDER, "l": LOCALE, "L": LARGE, "n": NEGATIVE, "z": NONZERO, "r": RATED,
    "o": OUTSIDE, "q": NONPOSITIVE, "w": PAIRED, "a": ABOVE, "m": POSITIVE, "h": HIGH, "s": LOW, "N": NAMED,
    "c": CURRENCY, "d": DATED, "f": FIRST, "x": FRONTIER, "P": PLACEHOLDER_DATE, "k": UNIT,
    "e": DECIMAL, "i": WHOLE, "t": REPEAT, "j": DIGITS, "y": SHEET, "v": HIDDEN, "S": SWAPPED,
    "D": OTHER_DATE, "G": GROUPED, "O": DOTTED, "I": PLAIN, "Q": FORMULA, "M": MAIL, "A": ACCOUNTING, "H": AFTER_CHURN,
    "V": HALVES, "T": MINUS, "U": FOLDED_ID, "W": LONG_ID, "K": CUT_ID, "B": PHONE, "C": CALENDAR,
    "Z": UTC_MIDNIGHT, "X": SCIENTIFIC, "J": MOJIBAKE_TEXT,
}  # fmt: skip
#: A column judged against another of its row: the cost against the revenue (`check_cost_above_revenue`).
PAIRS = {("orders", "cost"): "revenue"}
#: A column whose median positive value must lie in a range (`features.conventions.EFFORT_MEDIAN_MINUTES`).
UNIT_MEDIANS = {("tickets", "effort_minutes")}
#: bit 0: the row names an account manager the managers table lacks; bit 1 + j: its `customer_refs[j]` names a
#: customer the customers table lacks (the masks of `reject_unknown`: rows not already rejected by an earlier rule)
UNKNOWN = "__unknown"
UNKNOWN_BITS = 3
TABLE = "__table"
BUCKET = "__bucket"
ROLE = "__role"  # referrals: 0 = the copy in the referred customer's bucket, 1 = the one in the referrer's
REF = "__ref_reason"  # a referral copy's `unknown <ref>` verdict, kept apart until the two copies are joined
#: the referrer's copy of a referral: dated before the referrer's signup (`features.referral_rules.SIGNUP_RULES`),
#: the last of the referral's verdicts once the two copies are joined (after the referred copy's `REF`)
SIGNUP = "__signup_reason"
# customers' rows: the latest accepted ordered_at (`features.crossrefs.far_future`)
LAST_ORDER = "__last_order"
JOINED = "__order|"  # returns' rows: their order's columns (`features.return_checks.foreign_order_returns`)
#: A row's position while it is checked: its input partition in the high bits, its row in that partition below,
#: so positions sort in source order; `source_row` (dense) once the rows per partition are counted.
PARTITION_SHIFT = 36
#: Keys that are customer ids: judged per bucket (every occurrence of one id is in one bucket).
BUCKET_KEYS = {"customers": "customer_id", "referrals": "referred_id"}
#: Spark type of a validated column per contract kind (numbers: double).
SPARK_TYPE = {"id": "string", "text": "string", "timestamp": "timestamp_ntz", "bool": "boolean"}


def _q(name: str) -> str:
    """A column name quoted for Spark (names as read may hold dots or spaces)."""
    return "`" + name.replace("`", "``") + "`"


def projection(*columns: str | tuple[str, str]) -> list[str]:
    """`selectExpr` items for these columns, a (name, new name) pair renamed: a py4j call per column, where a
    `Column` per column (`F.col(c).alias(n)`, or a name given to `select`) costs 5-7, 0.5-1 ms each on a loaded
    driver (a validation of four small tables: 4,606 calls -> see `test_spark_input`'s first test)."""
    return [_q(c) if isinstance(c, str) else f"{_q(c[0])} AS {_q(c[1])}" for c in columns]


#: A dot in a column's name (`returns.order_id`: a SQL client's header; `Qty.`, `Cust. No.`: an ERP's) reads as a
#: struct's field to PySpark's `applyInPandas`, which looks each column up by its name (was: `AnalysisException
#: [UNRESOLVED_COLUMN]`, exit 1, for a column outside the contract): in the union it is written as U+2024 (one dot
#: leader) and read back by `narrow`.
_DOT = "\u2024"


def _wide(table: str, column: str) -> str:
    """A table's column in the union of all tables."""
    return f"{table}|{column.replace('.', _DOT)}"


def narrow(wide: str) -> str:
    """The column a union's column (`_wide`) holds, without its table: `orders|raw:Qty.` for `orders|raw:Qty\u2024`."""
    return wide.split("|", 1)[1].replace(_DOT, ".")


def bucket_rows(frame: pd.DataFrame, name: str, slots: list[int]) -> pd.DataFrame:
    """Checked rows of table `name` with their customer bucket's slot (`spark_slots.bucket_slots`) and role; a
    referral row twice (see module)."""
    from pipelines.engines.chunks import CUSTOMER_TABLES, customer_buckets

    keys = np.asarray(slots, dtype=np.int32)

    def of(column: str) -> np.ndarray:
        ids = frame[VAL + column].astype(object).where(frame[VAL + column].notna(), "")
        return keys[customer_buckets(ids.to_numpy(dtype=object), len(slots))]

    if name == "referrals":
        referred = frame.assign(**{BUCKET: of("referred_id"), ROLE: np.int32(0)})
        referrer = frame.assign(**{BUCKET: of("referrer_id"), ROLE: np.int32(1)})
        return pd.concat([referred, referrer], ignore_index=True)
    bucket = of(CUSTOMER_TABLES[name]) if name in CUSTOMER_TABLES else np.full(len(frame), -1, np.int32)
    return frame.assign(**{BUCKET: bucket, ROLE: np.int32(0)})


def check_bucket(
    rows: pd.DataFrame,
    columns: Mapping[str, list[str]],
    has_managers: bool,
    has_customers: bool,
) -> pd.DataFrame:
    """The checks that need other rows, on one customer bucket (the applyInPandas body).

    in:  the union's rows of one bucket: table tag, position, reason so far (row checks, cross-bucket keys),
         role, `<table>|val:<col>` columns; with `has_managers`, also every checked row of the managers table
         (its accepted ids are the known managers). `columns`: each customer table's checked columns.
    out: the customer tables' rows and columns with the reason after duplicate customer ids, unknown managers,
         event dates, payments and closings a year past the last order (`LAST_ORDER` rows), customer dates a
         year past it and unknown customers (the order of `validate_tables`); a referral copy's reference verdict in `REF`
         instead (the referred customer's copy: then a referral of a customer who had referred before). The
         managers' rows are not returned (they are judged once, outside the buckets).
    """
    from features.validation import _Rejector, known_ids, reject_duplicate_keys, reject_unknown

    rows = rows.sort_values(ROW, kind="stable").reset_index(drop=True)
    known_managers, managers = None, None
    if has_managers:  # every bucket holds the managers' checked rows: the accepted ones are the known ids
        own = rows[TABLE].to_numpy(dtype=object) == "account_managers"
        accepted = own & rows[REASON].isna().to_numpy()
        ids = rows[_wide("account_managers", VAL + "account_manager_id")][accepted]
        known_managers = sorted({str(v) for v in ids.dropna()})
        managers = pd.DataFrame(  # their dates judge the assignments (`features.manager_checks.TENURE_RULES`)
            {
                c: rows[_wide("account_managers", VAL + c)].to_numpy()[accepted]
                for c in ("account_manager_id", "started_at", "left_at")
                if _wide("account_managers", VAL + c) in rows.columns
            }
        )
        rows = rows[~own].reset_index(drop=True)
    last_order = pd.NaT
    if LAST_ORDER in rows.columns:  # the partitions' latest accepted orders (`spark_orders.last_order_rows`)
        tops = rows[TABLE].to_numpy(dtype=object) == LAST_ORDER
        last_order = pd.Series(rows[LAST_ORDER].to_numpy()[tops], dtype="datetime64[ns]").max()
        rows = rows[~tops].reset_index(drop=True)
    reason = rows[REASON].to_numpy(dtype=object).copy()
    ref_reason = np.full(len(rows), None, dtype=object)
    signup_reason = np.full(len(rows), None, dtype=object)  # the referrer's copy: before their signup
    unknown = np.zeros(len(rows), dtype=np.int64)
    tag, role = rows[TABLE].to_numpy(dtype=object), rows[ROLE].to_numpy()
    parsed: dict[tuple[str, int], tuple[np.ndarray, pd.DataFrame, Any]] = {}
    for name, cols in columns.items():
        for r in (0, 1) if name == "referrals" else (0,):
            at = np.flatnonzero((tag == name) & (role == r))
            t = pd.DataFrame({c: rows[_wide(name, VAL + c)].to_numpy()[at] for c in cols})
            rej = _Rejector(len(at))
            rej.add(pd.notna(reason[at]), pd.Series(reason[at]))
            parsed[(name, r)] = (at, t, rej)
    repeat = rows[REPEAT].fillna(0).to_numpy(dtype=np.int64).copy()
    from features.keys import REPEAT_TABLES, repeated_rows

    for (
        name
    ) in REPEAT_TABLES:  # a customer's orders (invoices, ...) are all in this bucket: before references
        if (name, 0) in parsed:
            at, t, rej = parsed[(name, 0)]
            repeat[at] |= repeated_rows(name, t, rej.ok).astype(np.int64)
    for name, key in BUCKET_KEYS.items():
        if (name, 0) in parsed and key in parsed[(name, 0)][1].columns:
            _, t, rej = parsed[(name, 0)]
            reject_duplicate_keys(t, key, rej)
    if known_managers is not None:
        known_am = pd.Index(known_managers, dtype=object)
        for name in ("customers", "assignments"):
            if (name, 0) in parsed and "account_manager_id" in parsed[(name, 0)][1].columns:
                at, t, rej = parsed[(name, 0)]
                unknown[at] |= reject_unknown(t, "account_manager_id", known_am, rej).to_numpy(dtype=np.int64)
        if ("assignments", 0) in parsed:  # assigned after the manager left or before they started
            from features.manager_checks import reject_assignments_outside_tenure

            reject_assignments_outside_tenure(*parsed[("assignments", 0)][1:], managers)
    if not pd.isna(last_order):  # `paid_at 2099`: unpaid at every cutoff (`features.crossrefs`)
        from features.crossrefs import CLOSING_DATES, reject_far_future_closings

        for name in CLOSING_DATES:
            if (name, 0) in parsed:
                _, t, rej = parsed[(name, 0)]
                reject_far_future_closings(name, t, last_order, rej)
    if has_customers:
        from features.crossrefs import reject_far_future

        # `features.crossrefs`: a date a year past the last order, before the unknown customers
        reject_far_future(parsed[("customers", 0)][1], last_order, parsed[("customers", 0)][2])
        known = known_ids(parsed[("customers", 0)][1], parsed[("customers", 0)][2], "customer_id")
        for (name, r), (at, t, rej) in parsed.items():
            refs = TABLES[name].customer_refs
            if name == "referrals":  # its copy's own reference, judged apart (joined back in pandas order)
                side = _Rejector(len(at))
                ref = "referred_id" if r == 0 else "referrer_id"
                hit = reject_unknown(t, ref, known, side).to_numpy(dtype=np.int64)
                unknown[at] |= hit << (1 + refs.index(ref))
                ref_reason[at] = side.reason
                continue
            for j, ref in enumerate(refs):
                unknown[at] |= reject_unknown(t, ref, known, rej).to_numpy(dtype=np.int64) << (1 + j)
    elif ("orders", 0) in parsed and "customer_id" in parsed[("orders", 0)][1].columns:
        # no customers table: the rows naming none of the accepted orders' customers (only counted: the driver
        # judges `features.crossrefs.check_refs_against_orders` exactly when their sum may reach its threshold;
        # a customer's orders are all in their id's bucket)
        _, o, o_rej = parsed[("orders", 0)]
        known = pd.Index(o.loc[o_rej.ok, "customer_id"].dropna().unique())
        for (name, r), (at, t, rej) in parsed.items():
            refs = TABLES[name].customer_refs
            for j, ref in enumerate(refs):
                if name == "orders" or (name == "referrals" and ref != ("referred_id", "referrer_id")[r]):
                    continue
                hit = t[ref].notna().to_numpy() & (known.get_indexer(t[ref]) < 0) & rej.ok
                unknown[at] |= np.asarray(hit, dtype=np.int64) << (1 + j)
    if ("referrals", 0) in parsed and "referred_at" in parsed[("referrals", 0)][1].columns:
        from features.referral_rules import REFERRED_AFTER_REFERRING, referred_after_referring

        # the copies in the referred customer's bucket, judged against those in the referrer's: every referral
        # naming this bucket's customers as referrer (a row rule's reject: not evidence), after the references
        (at0, t0, rej0), (at1, t1, rej1) = parsed[("referrals", 0)], parsed[("referrals", 1)]
        ok = np.concatenate([rej0.ok & pd.isna(ref_reason[at0]), np.zeros(len(at1), dtype=bool)])
        evidence = np.concatenate([np.zeros(len(at0), dtype=bool), rej1.ok])
        hit = referred_after_referring(pd.concat([t0, t1], ignore_index=True), ok, evidence)[: len(at0)]
        ref_reason[at0[hit]] = REFERRED_AFTER_REFERRING
        # each copy against its own customer's dates, this bucket's: signup_at, first order (`SIGNUP_RULES`)
        from features.referral_rules import referrals_against_signup

        cust = parsed[("customers", 0)][1][parsed[("customers", 0)][2].ok] if has_customers else None
        orders = parsed[("orders", 0)][1][parsed[("orders", 0)][2].ok] if ("orders", 0) in parsed else None
        copies = (parsed[("referrals", 0)], (at1, t1, rej1))  # the referred's copy, then the referrer's
        for side, (at, t, rej) in zip(("referred_id", "referrer_id"), copies, strict=True):
            free = rej.ok & pd.isna(ref_reason[at]) & pd.isna(signup_reason[at])
            for why, hit in referrals_against_signup(t, cust, orders, side).items():
                (ref_reason if side == "referred_id" else signup_reason)[at[free & hit]] = why
    after_churn = np.zeros(len(rows), dtype=np.int64)
    if (
        has_customers and ("orders", 0) in parsed
    ):  # ordering after their churned_at: counted, judged on the driver
        from features.churn_checks import churned_at_last_order, ordered_after_churn

        (cat, ct, crej), (_, ot, orej) = parsed[("customers", 0)], parsed[("orders", 0)]
        after_churn[cat[crej.ok][ordered_after_churn(ct[crej.ok], ot[orej.ok])]] = 1
        after_churn[cat[crej.ok][churned_at_last_order(ct[crej.ok], ot[orej.ok])]] |= 2
    for at, _, rej in parsed.values():
        reason[at] = rej.reason
    return rows.assign(
        **{REASON: reason, REF: ref_reason, SIGNUP: signup_reason, UNKNOWN: unknown, REPEAT: repeat},
        **{AFTER_CHURN: after_churn},
    )


def _duplicates(frame: SparkDataFrame, key: str) -> SparkDataFrame:
    """`duplicate <key>` across buckets: among rows still accepted, every occurrence of a key after the first by
    position (one window per key column)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    value = F.col(_q(VAL + key))
    ok = F.col(REASON).isNull()
    rank = F.row_number().over(Window.partitionBy(value, ok).orderBy(ROW))
    hit = ok & value.isNotNull() & (rank > 1)
    return frame.withColumn(REASON, F.when(hit, F.lit(f"duplicate {key}")).otherwise(F.col(REASON)))


def early_columns(columns: Mapping[str, list[str]]) -> dict[int, list[str]]:
    """Per contract column index, the union's date columns at that index (`spark_stats.column_stats`' `dates`)."""
    out: dict[int, list[str]] = {}
    for name, cols in columns.items():
        for i, c in enumerate(cols):
            if TABLES[name].column(c).kind == "timestamp":
                out.setdefault(i, []).append(_wide(name, VAL + c))
    return out


def _offsets(stats: pd.DataFrame) -> dict[int, int]:
    """First source_row of every input partition of one table (rows per partition, summed in partition order)."""
    out, total = {}, 0
    for part, n in stats.groupby("part")["n"].sum().sort_index().items():
        out[int(part)] = total
        total += int(n)
    return out


def source_rows(frame: SparkDataFrame, offsets: Mapping[int, int]) -> SparkDataFrame:
    """Positions -> source_row (0-based position in the table as read). One SQL expression (one py4j call), where
    a `Column` per partition offset (`F.lit`, `F.create_map`) cost 4-5 calls each (~120 a load)."""
    from pyspark.sql import functions as F

    row, part = _q(ROW), f"shiftright({_q(ROW)}, {PARTITION_SHIFT})"
    pairs = ", ".join(f"{int(p)}, {int(o)}L" for p, o in sorted(offsets.items()))
    start = f"element_at(map({pairs}), {part})" if pairs else "0"
    return frame.withColumn(ROW, F.expr(f"{row} - shiftleft({part}, {PARTITION_SHIFT}) + {start}"))


#: A date column's first given values the driver reads when none parses: its hint judges the form they share
#: (`features.year_day_month.slashed_dates_hint`: a day above 12 telling year/day/month from year/month/day; was the
#: first 5, round 38), its message shows the first 5.
HINT_VALUES = 1000


def head_rows(column: Column) -> int:
    """How many of a column's first given values the driver reads when none parses: a date column's
    `HINT_VALUES`, another's 5 (its message shows 5)."""
    return HINT_VALUES if column.kind == "timestamp" else 5


def _check_throughout(
    checked: SparkDataFrame,
    table: Table,
    names: list[str],
    stats: pd.DataFrame,
    offsets: Mapping[int, int],
    timezone: str,
    date_formats: Mapping[str, str],
    only: int | None = None,
) -> None:
    """`StructuralError` (the pandas message and example rows) for a column where no given value parses (every
    column, or column `only`)."""
    from pyspark.sql import functions as F

    for i, name in enumerate(names):
        if only is not None and i != only:
            continue
        given, bad = int(stats[f"g{i}"].sum()), int(stats[f"b{i}"].sum())
        if given == 0 or bad != given:
            continue
        head = (
            checked.filter(F.col(GIVEN).bitwiseAND(1 << i) > 0)
            .orderBy(ROW)
            .limit(head_rows(table.column(name)))
            .select(ROW, _q(RAW + name))
            .toPandas()
        )
        parts = head[ROW].to_numpy() >> PARTITION_SHIFT
        rows = head[ROW].to_numpy() - (parts << PARTITION_SHIFT) + np.array([offsets[p] for p in parts])
        raw = pd.Series(head[RAW + name].to_numpy(dtype=object), index=rows, name=name)
        check_head(table, i, raw, stats, timezone, date_formats)


def check_head(
    table: Table, i: int, raw: pd.Series, stats: pd.DataFrame, timezone: str, date_formats: Mapping[str, str]
) -> None:
    """The pandas engine's stop for column i (`raw`: its first 5 given values, a date column's `HINT_VALUES`) where
    no given value parses, the column's sums (`stats`) saying whether every one is a placeholder (`p{i}` ==
    `g{i}`: `NA` on every row)."""
    from features.column_checks import _check_parsed
    from features.dates import parse_timestamps_native
    from features.parsing import _parse_column
    from features.validation import _Rejector

    col = table.column(str(raw.name))
    fmt = date_formats.get(f"{table.name}.{col.name}")
    every = int(stats[f"p{i}"].sum()) == int(stats[f"g{i}"].sum())
    if col.kind == "timestamp":
        value, unknown = parse_timestamps_native(raw, timezone, fmt)
        _check_parsed(
            table, col, raw, value, _Rejector(len(raw)), unknown, fmt, None, every, timezone=timezone
        )
    else:
        value = _parse_column(col, raw, timezone, None)
        _check_parsed(table, col, raw, value, _Rejector(len(raw)), None, None, None, every, timezone=timezone)


def table_view(union: SparkDataFrame, name: str, columns: list[str]) -> SparkDataFrame:
    """One table's rows out of the union: position, reason, given/bad masks and its `raw:`/`val:` columns."""
    from pyspark.sql import functions as F

    own = projection(ROW, REASON, GIVEN, *[(_wide(name, c), c) for c in columns])
    return union.filter(F.col(TABLE) == name).selectExpr(*own)


def validated_table(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    """One table's rows of a union frame (`accepted_union`, as pandas) in the validated representation: its
    `<name>|val:<column>` columns under their own names, with the pandas engine's dtypes, in source order."""
    own = rows[rows[TABLE] == name].sort_values(ROW, kind="stable").reset_index(drop=True)
    return validated_columns(own, name)


def validated_columns(own: pd.DataFrame, name: str) -> pd.DataFrame:
    """`validated_table` of rows that are all table `name`'s, in the order given (a new RangeIndex)."""
    out: dict[str, pd.Series] = {}
    for c in own.columns:
        table, _, col = c.partition("|" + VAL)
        if table != name or not col:
            continue
        kind = TABLES[name].column(col).kind
        values = own[c]
        if kind in ("id", "text"):
            out[col] = pd.Series(values.to_numpy(dtype=object), dtype="str").where(values.notna().to_numpy())
        elif kind == "timestamp":
            out[col] = values.astype("datetime64[ns]")
        elif kind == "bool":
            out[col] = values.astype("boolean")
        else:
            out[col] = values.astype("float64")
    return pd.DataFrame(out, index=pd.RangeIndex(len(own)))
