"""Hostile input classes closed in the thirty-fourth hunt: the orders' revenue in another unit from a day on (every
amount x100 from a month on: a billing system migrated, a second export in cents put after the first), a CSV file
cut inside its last quoted value, a config or mapping larger than any (`--config /dev/zero`), `invoices.disputed`
true on every invoice. Tiny hand-written files; no training, no model, no Spark session (the Spark cases: the
driver's streamed tables, its header check, its row step and its driver's stops called without a session). The
review's mend: the cut judged by Python's `csv` reader (escaped quotes, values over lines, rows past 64 KB), the
unit-step note's unit words by the invoices note's one rule, a small business's step judged by quarters."""

from __future__ import annotations

import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import MaskedRows
from tests.pipelines.test_hostile_round27 import _streamed


def _monthly_orders(factor_from: dict[str, float], growth: float = 1.0) -> pd.DataFrame:
    """25 orders a month from 2023-01 to 2023-08 (200), revenues 8-12 in a fixed pattern; from each month named in
    `factor_from` on, times its factor; `growth`: the revenue times `growth ** month` (a business growing)."""
    rows = []
    for m in range(8):
        month = f"2023-{m + 1:02d}"
        factor = 1.0
        for start, f in factor_from.items():
            factor = f if month >= start else factor
        for d in range(25):
            amount = (8 + d % 5) * factor * growth**m
            rows.append((f"O{m}-{d}", f"C{d}", f"{month}-{d + 1:02d} 10:00", f"{amount:.2f}"))
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "revenue"])


def test_order_amounts_in_another_unit_from_a_month_on_are_noted(tmp_path):
    """The orders' revenue in cents from 2023-05 on (x100: a billing system migrated mid-history; round 33 measured
    the demo so, 1,476 of its 2,980 orders, exit 0 without a word). Was: read as given, no note (each amount alone
    is plausible; no row rule or whole-column share sees it). Now a note of every loading command naming the month,
    the factor and the way out (`features.unit_steps.unit_step_notes`, in `load_notes.amount_notes`): each month's
    geometric mean per order, every month after the step far above every month before and crossed in a month or
    two. A note, not a stop: a business that really changed what it sells has no way out of a stop. The Spark
    driver keeps the orders' times and revenue (`spark_driver_view.driver_view`): the same note from its tables. A
    business growing 40% a month (x10 over the 8 months), thousands for units (/1000) and a step of x10 (no unit's
    factor) are judged as they should be: no note, the note, no note."""
    from features.contract import EVENT_TIME_COLUMNS
    from pipelines.engines.spark_driver_view import DRIVER_AMOUNTS
    from pipelines.load_notes import amount_notes

    orders = _validated(_monthly_orders({"2023-05": 100.0}))
    notes = [n for n in amount_notes({"orders": orders}) if "typical order" in n]
    assert len(notes) == 1 and notes[0].startswith(
        "table 'orders', column 'revenue': from 2023-05 on the typical order is 100 times what it was before"
    )
    assert "100 of the 200 orders from 2023-05 on" in notes[0] and "give every amount in one unit" in notes[0]
    kept = [*EVENT_TIME_COLUMNS["orders"], *DRIVER_AMOUNTS["orders"]]  # the Spark driver's (`driver_columns`)
    driver = {"orders": orders[kept].copy()}
    assert kept == ["ordered_at", "revenue"]
    assert [n for n in amount_notes(_streamed(driver)) if "typical order" in n] == notes
    after = driver["orders"]["ordered_at"] >= "2023-05-01"
    driver["orders"].loc[after, "revenue"] /= 1e5  # in thousands from 2023-05 on instead of cents
    said = [n for n in amount_notes(_streamed(driver)) if "typical order" in n]
    assert len(said) == 1 and "from 2023-05 on the typical order is 1/1,000 of what it was before" in said[0]
    for name, orders in {
        "plain": _monthly_orders({}),
        "growing": _monthly_orders({}, growth=1.4),
        "x10": _monthly_orders({"2023-05": 10.0}),
    }.items():
        assert _notes(orders) == [], name


def _validated(orders: pd.DataFrame) -> pd.DataFrame:
    """`orders` as the loaders hand them on: times and numbers (the note reads the accepted tables)."""
    return orders.assign(
        ordered_at=pd.to_datetime(orders["ordered_at"]), revenue=orders["revenue"].astype(float)
    )


def _notes(orders: pd.DataFrame) -> list[str]:
    """`load_notes.amount_notes`' unit-step notes on `orders`."""
    from pipelines.load_notes import amount_notes

    return [n for n in amount_notes({"orders": _validated(orders)}) if "typical order" in n]


def test_a_unit_step_needs_three_filled_months_on_each_side_and_crosses_at_once():
    """The rule's edges (`features.unit_steps.unit_step`, the one function both engines' notes call): a step in the
    last two months (too few to tell from two large months) or a ramp over four months (growth, however large) is
    none; months of fewer than 20 orders are left out of the judgement, so a sparse month of two large orders
    before the step (above every month after it) does not hide it."""
    assert _notes(_monthly_orders({"2023-07": 100.0})) == []  # two months after it
    ramp = _monthly_orders({"2023-03": 3.0, "2023-04": 10.0, "2023-05": 30.0, "2023-06": 100.0})
    assert _notes(ramp) == []  # no month-to-month crossing of most of the step
    stepped = _monthly_orders({"2023-05": 100.0})
    sparse = pd.DataFrame(
        {"order_id": ["S1", "S2"], "customer_id": "C1", "ordered_at": "2022-12-03 10:00", "revenue": "5000"}
    )
    said = _notes(pd.concat([stepped, sparse], ignore_index=True))
    assert len(said) == 1 and "from 2023-05 on the typical order is 100 times" in said[0]
    assert "100 of the 202 orders from 2023-05 on" in said[0]


def test_a_file_cut_inside_its_last_quoted_value_stops(tmp_path):
    """A CSV file cut short inside its last row's last value, a quoted one (`...,"ed` of `"edi"`: a copy
    interrupted, a disk that filled, an export killed). Was: exit 0, Arrow (and Spark) reading the open quote as
    closed: the row accepted with `ed`, and every row after the cut lost without a word (a cut elsewhere in a row
    already left too few fields: the ragged rows' stop). Now a structural error naming the file and the column,
    and the way out (`pipelines.csv_reading.check_csv_header`, the header check both engines call on each local
    CSV file). Whole files are read: a last line without a line end whose quote is closed, a quoted value over
    several lines ending the file, a quote inside an unquoted value (`5"`)."""
    from features.validation import StructuralError
    from pipelines.csv_reading import check_csv_header, read_csv_text

    head = '"order_id","customer_id","ordered_at","revenue","channel"\n"O1","C1","2023-01-05",10,"web"\n'
    data = tmp_path / "cut"
    data.mkdir()
    (data / "orders.csv").write_text(head + '"O2","C2","2023-01-06",12.5,"ed')
    with pytest.raises(
        StructuralError, match="ends inside a quoted value of its last row's last column, 'channel'"
    ):
        read_csv_text(data / "orders.csv")  # the pandas engine's reading of a CSV table
    with pytest.raises(StructuralError, match="the file was cut short"):
        check_csv_header(data / "orders.csv")  # what the Spark engine's sources call on each local CSV file
    for name, last in {
        "closed": '"O2","C2","2023-01-06",12.5,"edi"',
        "lines": '"O2","C2","2023-01-06",12.5,"web\nand shop"',
        "inch": '"O2","C2","2023-01-06",12.5,5" screen',
        "escaped": '"O2","C2","2023-01-06",12.5,"say ""hi"""',
    }.items():
        (data / "orders.csv").write_text(head + last)
        assert len(read_csv_text(data / "orders.csv")) == 2, name


def test_a_config_or_mapping_larger_than_any_is_refused_unread(tmp_path):
    """`--config /dev/zero` (or `/dev/urandom`, a data dump given as the config or mapping). Was: read whole, exit 1
    `unexpected MemoryError` after 13 s and 2.5 GB for `/dev/zero`; a 300 MB file 24 s and 1.5 GB before its stop.
    Now a structural error naming the file, after reading one byte past `pipelines.yamlfile.MAX_YAML_BYTES` (4 MB:
    the product's own files are a few KB), for both options (`read_yaml`, which every config and mapping goes
    through). A config read from a pipe (`--config <(...)`) is read as before."""
    from features.validation import StructuralError
    from pipelines.config import load_config
    from pipelines.yamlfile import read_yaml_settings

    bound = 4 << 20  # `pipelines.yamlfile.MAX_YAML_BYTES`, asserted below
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (bound + 1))  # a comment: read whole, it would be a config of no setting
    with pytest.raises(
        StructuralError, match=r"config .*big.yaml is larger than 4 MB \(a config holds a few KB\)"
    ):
        load_config(big)
    with pytest.raises(StructuralError, match="mapping .*big.yaml is larger than 4 MB"):
        read_yaml_settings(big, "mapping")
    big.write_bytes(b"data: {timezone: UTC}\n" + b"#" * (bound - 30))  # below the bound: read
    assert load_config(big).data.timezone == "UTC"
    from pipelines.yamlfile import MAX_YAML_BYTES

    assert MAX_YAML_BYTES == bound


def _invoices(disputed: list[str]) -> pd.DataFrame:
    """An invoices table as read from a text file, one invoice per `disputed` value."""
    n = len(disputed)
    return pd.DataFrame(
        {
            "invoice_id": [f"I{i}" for i in range(n)],
            "customer_id": [f"C{i % 7}" for i in range(n)],
            "issued_at": [f"2023-01-{i % 28 + 1:02d}" for i in range(n)],
            "due_at": [f"2023-02-{i % 28 + 1:02d}" for i in range(n)],
            "amount": "10",
            "disputed": disputed,
        }
    )


def test_every_invoice_disputed_stops_in_both_engines():
    """`invoices.disputed` true on every invoice: the column's default written for each, or a flag exported the
    other way round (`undisputed`). Was: read, exit 0, every customer with an invoice a disputer of all their bills
    (the demo's invoices so: validate exit 0), so the problem rule `dispute_share` (> 0.25) made each of them a
    problem customer. Now a structural error naming the table, column, rows and the way out
    (`features.conventions.check_flags_throughout`, in `check_conventions`). The Spark engine's row step marks the
    true values (`NONZERO` bits of a true/false column) and its driver fires from their sum against the rows in
    (`spark_stops.table_stops`), judged here without a session. A TRUE-or-empty export (an empty flag is no, as the
    contract reads it), true on a few, is read: no stop in either engine."""
    from features.contract import TABLES
    from features.conventions import check_conventions
    from pipelines.engines.spark_checks import NONZERO, REASON, TABLE
    from pipelines.engines.spark_input import check_rows
    from pipelines.engines.spark_stops import table_stops

    def judged(disputed: list[str], spark: bool) -> None:
        raw = _invoices(disputed)
        parsed = raw.assign(disputed=raw["disputed"].map({"true": True, "": None}), amount=10.0)
        if not spark:
            check_conventions("invoices", parsed)  # the pandas engine's
            return
        out = next(check_rows(iter([raw]), "invoices", 0, "UTC", {}, {}))
        names = list(raw.columns)
        at = names.index("disputed")
        true = int(((out[NONZERO].to_numpy() >> at) & 1).sum())
        assert true == disputed.count("true")  # the executors' bits: the true values
        given = {f"g{j}": [len(raw)] for j in range(len(names))}
        stats = pd.DataFrame(
            {TABLE: ["invoices"], REASON: [None], "n": [len(raw)], **given, f"z{at}": [true]}
        )

        class Rows(MaskedRows):  # `spark_stops.TableRows`: its parsed table too
            def parsed(self) -> pd.DataFrame:
                return parsed

        table_stops(TABLES["invoices"], names, stats, Rows(raw, out), lambda i: None, {})

    for spark in (False, True):
        with pytest.raises(
            StructuralError, match=r"'invoices', column 'disputed': true on every one of its 30"
        ):
            judged(["true"] * 30, spark)
        judged(["true"] * 3 + [""] * 27, spark)  # TRUE-or-empty: read
        judged(["true"] * 19, spark)  # too few to judge


def test_the_cut_is_judged_by_a_csv_reader_from_a_row_boundary(tmp_path):
    """The round's review of the cut check (it read the last physical line alone, its own quote parser): a legit
    value over lines ending the file whose last line ends in `,"` (`"web, shop<line end>then, app, tel, fax,"`) was
    a false stop; a cut after an escaped quote (`"say ""h`, `"the ""web""`), a cut inside a value over lines
    (`"web<line end>sh`) and a cut last row longer than the 64 KB tail read exit 0. Now Python's `csv` reader,
    strict, reads the records from the file's start when the file does not end with a line end: its "unexpected
    end of data" is the cut (`pipelines.csv_reading._check_cut_in_quote`, in the header check both engines call)."""
    from pipelines.csv_reading import read_csv_text

    head = '"order_id","customer_id","ordered_at","revenue","channel"\n"O1","C1","2023-01-05",10,"web"\n'
    row = '"O2","C2","2023-01-06",12.5,'
    long = "a, b\n" * 14_000  # 70 KB over 14,000 lines: more than a 64 KB tail
    path = tmp_path / "orders.csv"
    for last in {
        "escaped pair then cut": '"say ""h',
        "cut after a closed-looking escaped pair": '"the ""web""',
        "cut inside a value over lines": '"web\nsh',
        "cut after 70 KB over lines": '"' + long + "c",
    }.values():
        path.write_text(head + row + last)
        with pytest.raises(
            StructuralError, match="its last row's last column, 'channel' .the row from line 3"
        ):
            read_csv_text(path)
    for name, last in {
        "over lines ending in a comma": '"web, shop\nthen, app, tel, fax,"',
        "escaped pair then a comma": '"a ""b"", c"',
        "70 KB over lines": '"' + long + '"',
    }.items():
        path.write_text(head + row + last)
        assert len(read_csv_text(path)) == 2, name


def test_the_unit_step_note_names_a_unit_only_for_a_units_factor():
    """The round's review: the unit-step note said "(cents for units: 100; ...)" whatever the factor (x41, 1/1000).
    Now one rule for both amount-unit notes (`features.conventions.unit_names`, also the invoices-against-orders
    note's): a unit named only within twice 100 or 1,000 (or their inverses), else none."""
    from features.conventions import _unit_factor, unit_names

    said = {f: _notes(_monthly_orders({"2023-05": f})) for f in (100.0, 0.001, 41.0)}
    assert all(len(n) == 1 for n in said.values()), said
    assert "the amounts in cents from then on, in units before (a billing" in said[100.0][0]
    assert "the amounts in thousands from then on, in units before (a billing" in said[0.001][0]
    assert "41 times what it was before" in said[41.0][0]
    assert "the amounts in another unit from then on (a billing" in said[41.0][0]
    assert not any(unit in said[41.0][0] for unit in ("cents", "thousands"))
    assert unit_names(41.0) is None and unit_names(190.0) == ("about 100 times", "cents", "units")
    assert _unit_factor(41.0, 5.0) == "many times the other"


def _sparse_orders(factor, per_month) -> pd.DataFrame:
    """Orders of 2021-01 to 2023-12, `per_month(month)` of them in each month (0-35), revenues 8-12 in a fixed
    pattern times `factor(month)`."""
    rows = []
    for m in range(36):
        month = f"{2021 + m // 12}-{m % 12 + 1:02d}"
        for d in range(per_month(m)):
            amount = (8 + d % 5) * factor(m)
            rows.append((f"O{m}-{d}", f"C{d}", f"{month}-{d + 1:02d} 10:00", f"{amount:.4f}"))
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "revenue"])


def test_a_small_business_unit_step_is_judged_by_quarters():
    """The round's review: a business of 10 orders a month never got the unit-step note (months of 20 orders or
    more only: `cvp generate --customers 50`, x100 from 2024-07, nothing). Now, when the months find no step and
    some are too sparse to judge, calendar quarters judge again (`features.unit_steps.unit_step`, from the months'
    sums). A step is said only when crossed within two calendar periods: a x40 ramp over a year whose months are
    too sparse to judge is no step (the branch's months said one across the sparse months between their judged
    ones), nor is a small business growing x1,000 over three years or ramping x40 over a year."""
    ten = lambda m: 10  # noqa: E731
    said = _notes(_sparse_orders(lambda m: 100.0 if m >= 18 else 1.0, ten))
    assert len(said) == 1 and said[0].startswith(
        "table 'orders', column 'revenue': from 2022Q3 on the typical order is 100 times what it was before "
        "(each quarter's geometric mean per order, every quarter after above every quarter before: 180 of the "
        "360 orders from 2022Q3 on): the amounts in cents from then on, in units before"
    )
    ramp = lambda m: 40.0 ** min(max((m - 12) / 12, 0.0), 1.0)  # noqa: E731 (x1 in 2021, x40 from 2023)
    assert _notes(_sparse_orders(lambda m: 1000 ** (m / 35), ten)) == []
    assert _notes(_sparse_orders(ramp, ten)) == []
    assert _notes(_sparse_orders(ramp, lambda m: 5 if 12 <= m < 24 else 25)) == []


def test_a_file_without_a_line_end_nor_a_quote_near_its_end_is_not_read_whole(tmp_path, monkeypatch):
    """The cut check reads a file whole (Python's strict `csv` reader, about 17 CPU-s a GB) only when its end could
    be inside a quoted value: a value left open began with a quote within the reader's field limit of the end
    (a longer one is not judged). Many exports end without a line end: one with no quote in that tail is not read
    whole (was: every such file read whole a second time); one with a quote there still is, and its cut stops."""
    import csv

    from pipelines import csv_reading

    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,ordered_at,revenue\n" + "O1,C1,2023-01-05,10\n" * 20_000 + "O2,C2,2023-01-06,12"
    )
    read = []
    real_reader = csv.reader
    monkeypatch.setattr(csv, "reader", lambda *a, **k: read.append(1) or real_reader(*a, **k))
    csv_reading._check_cut_in_quote(path, ["order_id", "customer_id", "ordered_at", "revenue"])
    assert read == []
    path.write_text(
        "order_id,customer_id,ordered_at,channel\n"
        + "O1,C1,2023-01-05,web\n" * 20_000
        + 'O2,C2,2023-01-06,"we'
    )
    with pytest.raises(StructuralError, match="ends inside a quoted value"):
        csv_reading._check_cut_in_quote(path, ["order_id", "customer_id", "ordered_at", "channel"])
    assert read
