"""Hostile input classes closed in the seventh hunt: placeholder dates written for every missing date (`9999-12-31`
for "never", `1900-01-01`), a required column empty throughout. Tiny hand-written tables; no training, no model."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from features.validation import StructuralError, validate_tables
from tests.helpers import raw_orders


def _orders(n: int = 6) -> pd.DataFrame:
    return raw_orders(n, first_day=2)


def _customers(churned_at: list[object]) -> pd.DataFrame:
    n = len(churned_at)
    return pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)], "churned_at": churned_at})


@pytest.mark.parametrize(
    "never",
    ["9999-12-31", "9999-12-31 23:59:59", "9999-12-31T23:59:59Z", "2999-12-31", "3000-01-01", "1900-01-01"],
)
def test_a_placeholder_date_written_for_every_missing_date_is_structural(never):
    """A warehouse export writes `9999-12-31` (or SQL Server's `1900-01-01`) for every customer never cancelled
    (was: each such customer an `impossible date in churned_at` reject, and every order of theirs `unknown
    customer_id`: the demo's 276 of 306 customers and 2,741 of 2,980 orders gone, exit 0)."""
    customers = _customers([never, never, never, "2023-06-01", "", never])
    with pytest.raises(
        StructuralError, match=r"'churned_at': 4 of 6 rows hold .*placeholder for a missing value"
    ):
        validate_tables({"orders": _orders(), "customers": customers})


def test_a_stray_open_end_date_is_a_placeholder_reject_not_an_impossible_date():
    """One `9999-12-31` among real dates stays a row reject, named for what it is; a Parquet timestamp column
    holding it (beyond pandas' nanosecond range) and a zoned one are read the same way; `2300-05-17` stays
    impossible."""
    import datetime as dt

    n = 400  # one of 400: under the 1% of a convention
    real = [dt.datetime(2023, 6, 1)] * (n - 2)
    for values in (
        [dt.datetime(9999, 12, 31), dt.datetime(2300, 5, 17), *real],
        pd.Series([dt.datetime(9999, 12, 31), dt.datetime(2300, 5, 17), *real], dtype="datetime64[us]"),
        pd.Series(
            [dt.datetime(9999, 12, 31, 23), dt.datetime(2300, 5, 17), *real], dtype="datetime64[us]"
        ).dt.tz_localize("UTC"),
    ):
        res = validate_tables({"orders": _orders(n), "customers": _customers(values)}, "Asia/Tokyo")
        assert res.report["customers"].rejected_by_reason == {
            "placeholder date in churned_at (9999-12-31, 2999-12-31, ...: an open end)": 1,
            "impossible date in churned_at": 1,
        }
        assert res.report["customers"].accepted == n - 2


@pytest.mark.parametrize(
    "table, frame, column",
    [
        (
            "tickets",
            pd.DataFrame(
                {
                    "ticket_id": ["T1", "T2", "T3"],
                    "customer_id": ["C0", "C1", "C2"],
                    "opened_at": ["2023-01-05"] * 3,
                    "effort_minutes": ["", " ", None],
                }
            ),
            "effort_minutes",
        ),
        (
            "returns",
            pd.DataFrame(
                {
                    "return_id": ["R1", "R2", "R3"],
                    "customer_id": [None] * 3,
                    "returned_at": ["2023-01-05"] * 3,
                    "amount": ["1", "2", "3"],
                }
            ),
            "customer_id",
        ),
    ],
)
def test_a_required_column_empty_on_every_row_is_structural(table, frame, column):
    """An export that emptied a required column (was: every row a `missing <column>` reject, the table lost and
    exit 0: the demo's 701 tickets gone, every customer's cost to serve with them). A few missing values stay
    row rejects."""
    with pytest.raises(StructuralError, match=rf"'{column}': required, and empty on every one of the 3 rows"):
        validate_tables({"orders": _orders(), table: frame})
    frame.loc[0, column] = "C0" if column == "customer_id" else "30"
    res = validate_tables({"orders": _orders(), table: frame})
    assert res.report[table].rejected_by_reason == {f"missing {column}": 2}


def test_a_parquet_file_written_with_its_key_as_the_pandas_index_is_read_with_that_column(tmp_path):
    """`df.set_index("order_id").to_parquet(...)`: the key is a column of the file, which pandas restores as the
    index (was: "missing required column(s) order_id", the column present). An unnamed index is the writer's row
    labels, not data; a column written twice is named, not Arrow's schema dump ("Multiple matches for
    FieldRef.Name(revenue) in order_id: large_string ... __fragment_index: int32")."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.io import load_data

    orders = _orders().assign(revenue=10.0)
    orders.set_index(["order_id", "customer_id"]).to_parquet(tmp_path / "orders.parquet")
    loaded = load_data(tmp_path)
    assert loaded.tables["orders"]["order_id"].tolist() == orders["order_id"].tolist()
    assert loaded.result.report["orders"].ignored_columns == ()
    orders.iloc[::2].to_parquet(tmp_path / "orders.parquet")  # index 0, 2, 4 stored as __index_level_0__
    assert load_data(tmp_path).result.report["orders"].ignored_columns == ()
    table = pa.Table.from_pandas(orders, preserve_index=False)
    pq.write_table(table.append_column("revenue", table["revenue"]), tmp_path / "orders.parquet")
    with pytest.raises(
        StructuralError, match=r"orders.parquet: duplicate column name\(s\) revenue in the schema"
    ):
        load_data(tmp_path)


@pytest.mark.parametrize(
    "text, message",
    [
        ("labels:\n  horizon_days: 90\n  horizon_days: 365\n", r"key 'horizon_days' is written twice"),
        ("data: {currency: USD}\ndata: {timezone: Europe/Paris}\n", r"key 'data' is written twice"),
    ],
)
def test_a_key_written_twice_in_a_config_or_mapping_is_refused(tmp_path, text, message):
    """PyYAML keeps the last of two equal keys without a word (was: `horizon_days: 90` then `365` ran on 365; a
    second `data:` section dropped the first whole). Merge keys (`<<: *base`) still override."""
    from pipelines.config import load_config
    from pipelines.mapping import load_mapping

    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(StructuralError, match=message):
        load_config(path)
    path.write_text(
        "labels: &base {horizon_days: 90, n_cutoffs: 6}\nfeatures:\n  <<: {trend_window_days: 30}\n"
    )
    assert load_config(path).labels.horizon_days == 90
    path.write_text("sources:\n  a: {file: a.csv}\n  a: {file: b.csv}\ntables: {}\n")
    with pytest.raises(StructuralError, match=r"key 'a' is written twice"):
        load_mapping(path)


@pytest.mark.parametrize(
    "text, key",
    [
        ("features:\n  service_hourly_cost: .inf\n", "features.service_hourly_cost = inf"),
        (
            "features:\n  seasonal_profile: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, .inf]\n",
            "seasonal_profile[11] = inf",
        ),
        ("features:\n  cost_per_ticket: 'Infinity'\n", "features.cost_per_ticket = inf"),
    ],
)
def test_a_non_finite_number_in_a_config_is_refused(tmp_path, text, key):
    """pydantic accepts `.inf` (and the text `Infinity`) wherever no bound excludes it (was: exit 0, every cost to
    serve infinite; an infinite seasonal weight passed as positive)."""
    from pipelines.config import load_config

    (tmp_path / "c.yaml").write_text(text)
    with pytest.raises(StructuralError, match=rf"{re.escape(key)}: a setting must be a finite number"):
        load_config(tmp_path / "c.yaml")


def test_an_invalid_features_section_is_one_problem_not_one_per_rule(tmp_path):
    """`windows_days: [90, 90]` was followed by two lines per default rule ("column 'profit_cost_to_serve_{w_long}d'
    may only use the placeholder {h}"): consequences of the unknown windows, not problems of their own."""
    from pipelines.config import load_config

    (tmp_path / "c.yaml").write_text("features:\n  windows_days: [90, 90]\n")
    with pytest.raises(StructuralError) as err:
        load_config(tmp_path / "c.yaml")
    assert "windows_days must be distinct" in str(err.value)
    assert "{w_long}" not in str(err.value) and "tiers" not in str(err.value)


def test_training_cutoffs_reaching_before_1900_are_a_config_error():
    """`labels.n_cutoffs: 100000000` (or a horizon longer than the calendar) was `unexpected ValueError: year 0 is
    out of range` (exit 1 and a traceback log) after loading the data."""
    from features.training import training_cutoffs
    from pipelines.config import load_config

    labels = load_config().labels
    as_of = pd.Timestamp("2025-12-31")
    assert len(training_cutoffs(as_of, 365, labels)) == labels.n_cutoffs
    for n, horizon in ((100_000_000, 365), (12, 10**9)):
        with pytest.raises(StructuralError, match=r"labels.n_cutoffs = .* reach back before 1900"):
            training_cutoffs(as_of, horizon, labels.model_copy(update={"n_cutoffs": n}))


def test_control_characters_of_data_values_and_column_names_are_escaped_in_messages(tmp_path):
    """A cell or header holding ESC sequences (colour, window title, clipboard), CR or a bidi override reached the
    terminal and batch logs as written, run by the terminal (was: `\\x1b[2J` cleared the screen from an error's
    example rows; a column so named did it from the "not used" note). Newlines and tabs stay."""
    import io

    from rich.console import Console

    from pipelines.io import load_data
    from pipelines.loading import print_load_report

    (tmp_path / "orders.csv").write_text(
        'order_id,customer_id,ordered_at,revenu,"ch\x1b[2J\u202enl\r"\nO1,"C1\x1b]52;c;eA==\x07",2023-01-01,10,x\n'
    )  # the value in a contract column: the example rows show no other (`features.names.shown_in_messages`)
    with pytest.raises(StructuralError) as err:
        load_data(tmp_path)
    message = str(err.value)
    assert "\\x1b]52;c;eA==\\x07" in message and "\x1b" not in message and "\x07" not in message
    assert "\nFirst rows:\n" in message  # lines as they were
    (tmp_path / "orders.csv").write_text(
        'order_id,customer_id,ordered_at,revenue,"ch\x1b[2J\u202enl\r"\nO1,C1,2023-01-01,10,x\n'
    )
    out = io.StringIO()
    print_load_report(load_data(tmp_path), Console(file=out, width=200), None, [])
    assert "not used: ch\\x1b[2J\\u202enl\\r" in out.getvalue() and "\x1b" not in out.getvalue()


def test_an_id_or_category_of_a_megabyte_is_a_reject_and_a_long_header_is_cut_in_messages(tmp_path):
    """A 5,000-character customer id and a region of a megabyte (a quote left open, a document pasted in a cell)
    were accepted: a customer or a region of that size in every reason sentence and page. A header cell of a
    megabyte was printed whole in the "not used" note and in every error naming the columns. Free text the
    models do not read (a return's reason) is kept whatever its length."""
    import io

    from rich.console import Console

    from pipelines.io import load_data
    from pipelines.loading import print_load_report

    orders = _orders(4)
    orders.loc[0, "customer_id"] = "C" + "9" * 5000
    customers = pd.DataFrame(
        {"customer_id": ["C1", "C2", "C3"], "region": ["North", "R" * 1_000_000, "South"]}
    )
    returns = pd.DataFrame(
        {
            "return_id": ["R1"],
            "customer_id": ["C1"],
            "returned_at": ["2023-01-05"],
            "amount": ["5"],
            "reason": ["x" * 5000],
        }
    )
    res = validate_tables({"orders": orders, "customers": customers, "returns": returns})
    assert res.report["orders"].rejected_by_reason == {
        "customer_id longer than 1,000 characters": 1,
        "unknown customer_id": 1,  # C2, whose customer row is rejected
    }
    assert res.report["customers"].rejected_by_reason == {"region longer than 1,000 characters": 1}
    assert res.report["returns"].accepted == 1
    header = "h" * 1_000_000
    (tmp_path / "orders.csv").write_text(
        f"order_id,customer_id,ordered_at,revenu,{header}\nO1,C1,2023-01-01,1,x\n"
    )
    with pytest.raises(StructuralError) as err:
        load_data(tmp_path)
    assert len(str(err.value)) < 2000 and "hhh... (1,000,000 characters)" in str(err.value)
    (tmp_path / "orders.csv").write_text(
        f"order_id,customer_id,ordered_at,revenue,{header}\nO1,C1,2023-01-01,1,x\n"
    )
    out = io.StringIO()
    print_load_report(load_data(tmp_path), Console(file=out, width=200), None, [])
    assert "hhh... (1,000,000 characters)" in out.getvalue() and len(out.getvalue()) < 5000


@pytest.mark.parametrize(
    "column, hint", [("cots", "its columns: order_id"), ("Revenue", "did you mean 'revenue'")]
)
def test_a_mapped_column_the_contract_does_not_have_is_a_mapping_error(tmp_path, column, hint):
    """A mapping declares the columns it produces; one the contract does not have was never read, only listed as
    "not used" (was: `cots: UnitCost` dropped the cost, every margin then guessed)."""
    from pipelines.mapping import load_mapping

    (tmp_path / "m.yaml").write_text(
        "sources: {lines: {file: lines.csv}}\ntables:\n  orders:\n    source: lines\n    columns:\n"
        f"      order_id: InvoiceNo\n      customer_id: CustomerID\n      ordered_at: InvoiceDate\n"
        f"      revenue: Price\n      {column}: UnitCost\n"
    )
    with pytest.raises(
        StructuralError, match=rf"orders.columns.{column}: not a column of the contract's .*{hint}"
    ):
        load_mapping(tmp_path / "m.yaml")


def test_a_csv_file_padded_with_nul_bytes_is_named_so(tmp_path):
    """A file whose write or copy was cut short ends in NUL bytes (was: "1 row(s) have more or fewer fields (an
    unquoted comma or quote, or a cut line?)")."""
    from pipelines.io import load_data

    (tmp_path / "orders.csv").write_bytes(
        b"order_id,customer_id,ordered_at,revenue\nO1,C1,2023-01-01,1\n" + b"\0" * 4096
    )
    with pytest.raises(StructuralError, match=r"1 line\(s\) hold only NUL bytes: a file padded with zeros"):
        load_data(tmp_path)


@pytest.mark.parametrize("header", ["cost\u200b", "\u00adcost", "co\u2060st"])
def test_a_contract_column_name_holding_an_invisible_character_is_structural(tmp_path, header):
    """`cost` written with a zero-width space, a soft hyphen or a word joiner (a second byte-order mark before the
    first column) looks like `cost` in every listing (was: ignored with a note, "not used: cost (did you mean
    cost?)", the costs dropped and every margin guessed)."""
    from pipelines.io import load_data

    (tmp_path / "orders.csv").write_text(
        f"order_id,customer_id,ordered_at,revenue,{header}\nO1,C1,2023-01-01,10,4\n"
    )
    with pytest.raises(StructuralError, match=rf"{re.escape(repr(header))} -> 'cost'"):
        load_data(tmp_path)
    (tmp_path / "orders.csv").write_bytes(
        b"\xef\xbb\xbf\xef\xbb\xbforder_id,customer_id,ordered_at,revenue\nO1,C1,2023-01-01,1\n"
    )
    with pytest.raises(StructuralError, match=r"'\\ufefforder_id' -> 'order_id'"):
        load_data(tmp_path)


def test_a_contract_column_beside_a_twin_named_otherwise_is_structural():
    """`revenue` beside `Revenue` (gross and net? the same twice?): the exact name was read and the other ignored
    with a note, a guess at which holds the revenue."""
    orders = _orders().assign(Revenue="20")
    with pytest.raises(StructuralError, match=r"'Revenue' beside 'revenue': two columns named alike"):
        validate_tables({"orders": orders})


def test_int96_parquet_timestamps_beyond_2262_are_read_as_written(tmp_path):
    """Hive, Impala and old Spark write int96 timestamps; read in nanoseconds, a date after 2262 wrapped around
    (was: `9999-12-31`, their open end, read as 1816-03-29 05:56, an `impossible date`; `2523-06-01` as a
    plausible 1938 date, accepted)."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.io import load_data

    days = [
        dt.datetime(2023, 1, 1),
        dt.datetime(9999, 12, 31),
        dt.datetime(2523, 6, 1),
        dt.datetime(2023, 1, 3),
    ]
    table = pa.table(
        {
            "order_id": ["O1", "O2", "O3", "O4"],
            "customer_id": ["C1", "C2", "C3", "C4"],
            "ordered_at": pa.array(days, pa.timestamp("us")),
            "revenue": [1.0, 2.0, 3.0, 4.0],
        }
    )
    pq.write_table(table, tmp_path / "orders.parquet", use_deprecated_int96_timestamps=True)
    loaded = load_data(tmp_path)
    assert loaded.result.report["orders"].rejected_by_reason == {
        "placeholder date in ordered_at (9999-12-31, 2999-12-31, ...: an open end)": 1,
        "impossible date in ordered_at": 1,
    }
    assert loaded.result.rejects["orders"]["ordered_at"].dt.year.tolist() == [9999, 2523]


@pytest.mark.parametrize(
    "name", ["customers.snappy.parquet", "customers.pq", "customers.parq", "customers.zstd.parquet"]
)
def test_a_parquet_table_file_named_otherwise_is_structural_not_skipped(tmp_path, name):
    """Spark names its Parquet parts `*.snappy.parquet`; other tools write `.pq` or `.parq` (was: a note "not a
    contract table and is not read", every command run without the customers table, exit 0)."""
    from pipelines.io import load_data

    (tmp_path / "orders.csv").write_text("order_id,customer_id,ordered_at,revenue\nO1,C1,2023-01-01,1\n")
    pd.DataFrame({"customer_id": ["C1"]}).to_parquet(tmp_path / name)
    with pytest.raises(
        StructuralError, match=rf"{re.escape(name)} .* looks like the 'customers' table as Parquet"
    ):
        load_data(tmp_path)


@pytest.mark.parametrize("mid", ["..", "NULL", "Total", "AM\u200b9", "x" * 1001])
def test_a_manager_id_rejected_by_the_id_rules_gets_the_same_reason_on_both_sides(mid):
    """An id the `account_managers` table rejects (`..`, `NULL`, a total line, an invisible character, 1,001
    characters) is rejected by the same rule in `customers.account_manager_id`, with the same reason (was: those
    customers, already rejected, counted again as naming a manager "the account_managers table does not list":
    exit 2 blaming an incomplete managers export). A placeholder for "no manager" (`..`, `NULL`) on 1% of the
    customers or more is how the export writes "none" (round 8): that stop, naming it, not the managers export."""
    from features.ids import missing_ids

    n = 300
    k = 10
    managers = pd.DataFrame({"account_manager_id": ["AM1", "AM2", mid]})

    def customers(k: int) -> pd.DataFrame:
        ids = ["AM1"] * (n - k) + [mid] * k
        return pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)], "account_manager_id": ids})

    if missing_ids(pd.Series([mid])).any():
        with pytest.raises(StructuralError, match="export a missing account manager as an empty cell"):
            validate_tables({"orders": _orders(n), "customers": customers(k), "account_managers": managers})
        k = 2
    res = validate_tables({"orders": _orders(n), "customers": customers(k), "account_managers": managers})
    (reason,) = res.report["account_managers"].rejected_by_reason
    assert res.report["customers"].rejected_by_reason == {reason: k}


@pytest.mark.parametrize(
    "demo, message",
    [
        ({"start": "garbage"}, "demo.start = 'garbage': not a date"),
        ({"end": "2024-02-30"}, "demo.end = '2024-02-30': not a date"),
        ({"start": "1850-01-01"}, "demo.start = '1850-01-01': outside 1900-2099"),
        ({"start": "2025-06-01", "end": "2024-01-01"}, "demo.start '2025-06-01' must be before demo.end"),
    ],
)
def test_demo_dates_are_checked_when_the_config_is_read(demo, message):
    """`demo.start: garbage` is a config error naming `demo.start` at load time, for every command (was: only
    `cvp demo` failed, at its first step, with `--start 'garbage' is not a date`: a flag it does not have)."""
    from pipelines.config import load_config

    with pytest.raises(StructuralError, match=re.escape(message)):
        load_config(None, {"demo": demo})
    import datetime as dt

    assert (
        load_config(None, {"demo": {"start": dt.date(2022, 1, 1)}}).demo.start == "2022-01-01"
    )  # YAML's date


@pytest.mark.parametrize("fmt, short", [("%d/%m/%y", "%y"), ("%-d.%-m.%y %H:%M", "%y"), ("%D", "%D")])
def test_a_two_digit_year_format_is_refused_in_config_and_mapping(fmt, short):
    """A declared `%y` reads `65` as 2065 and `69` as 1969 (Python's fixed pivot): a birth year or an old signup
    decades off without a word. It is a config (and mapping) error asking for `%Y` (was: accepted, every `65`
    a date in 2065)."""
    from pipelines.config import load_config
    from pipelines.mapping import TableMapping

    with pytest.raises(StructuralError, match=re.escape(f"has a two-digit year ({short})")):
        load_config(None, {"data": {"date_formats": {"customers.signup_at": fmt}}})
    with pytest.raises(ValueError, match="Export four-digit years"):
        TableMapping(source="crm.csv", columns={"signup_at": "Signup"}, date_formats={"signup_at": fmt})
    assert load_config(None, {"data": {"date_formats": {"customers.signup_at": "%d/%m/%Y"}}})


def test_a_directory_swap_waits_for_another_run_holding_the_directory(tmp_path):
    """Two `cvp report` (or `cvp profile`) runs into one directory swap it one at a time: a run publishing while
    another holds the directory's lock (`.<name>.publish.lock`, `pipelines.locks`) waits for it (was: both renamed
    the directory and swept `.old` copies at once: one run's rename or rmtree failing on what the other moved)."""
    import threading
    import time

    from pipelines.io import atomic_directory
    from pipelines.locks import held

    target = tmp_path / "reports"

    def publish(text: str) -> None:
        with atomic_directory(target, "MARK") as stage:
            (stage / "index.html").write_text(text)

    publish("first")
    run = threading.Thread(target=publish, args=("second",))
    with held(tmp_path / ".reports.publish.lock", "the directory"):
        run.start()
        time.sleep(0.5)
        assert (target / "index.html").read_text() == "first"  # the other run holds it: not swapped under it
    run.join(10)
    assert (target / "index.html").read_text() == "second" and not list(tmp_path.glob(".reports.*.tmp"))
