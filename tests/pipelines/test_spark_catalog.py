"""Catalog tables for the Spark engine (`--engine spark --tables orders=db.orders,...`, issue 11;
`pipelines/engines/spark_catalog.py`): the option's parsing and refusals without a Spark session, then one Spark
load of catalog tables equal to the same tables read from files."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.validation import StructuralError
from pipelines.engines.spark_catalog import parse_name, parse_tables, table_sources
from tests.helpers import cvp


def test_tables_are_read_from_pairs_or_a_yaml_file_and_every_part_is_quoted(tmp_path):
    got = parse_tables(" orders = cat.db.orders , customers=`my-db`.`cust; x`,tickets=`we``ird`")
    assert {t: (n.shown, n.quoted) for t, n in got.items()} == {
        "orders": ("cat.db.orders", "`cat`.`db`.`orders`"),
        "customers": ("`my-db`.`cust; x`", "`my-db`.`cust; x`"),  # a `;` inside backticks: part of the name
        "tickets": ("`we``ird`", "`we``ird`"),
    }
    assert got["customers"].parts == ("my-db", "cust; x")
    assert parse_tables("orders=db.`a,b=c`")["orders"].parts == ("db", "a,b=c")  # `,` and `=` quoted
    listed = tmp_path / "tables.yaml"
    listed.write_text("orders: db.orders\ncustomers: db.`my customers`\n", encoding="utf-8")
    assert {t: n.parts for t, n in parse_tables(str(listed)).items()} == {
        "orders": ("db", "orders"),
        "customers": ("db", "my customers"),
    }


#: `--tables` text -> the start of its refusal (exit 2, no Spark): every one names what is wrong and the way out
REFUSED = {
    "": "--tables is empty: give --tables TABLE=CATALOG_NAME",
    "orders=db.orders; DROP TABLE customers": "--tables: the catalog name 'db.orders; DROP TABLE customers' given "
    "for table 'orders' has a part, 'orders; DROP TABLE customers', with characters that are not letters",
    "orders=db.orders,orders=db.other": "--tables names table 'orders' twice (db.orders and db.other)",
    "order=db.orders": "--tables: 'order=db.orders' names 'order', which is not a contract table: did you mean "
    "'orders'?",
    "orders=db.x,customers=DB.X": "--tables names the catalog table DB.X for both 'orders' and 'customers'",
    "orders=db..orders": "--tables: the catalog name 'db..orders' given for table 'orders' has an empty part",
    "orders=db.`orders": "--tables: the catalog name 'db.`orders' given for table 'orders' has a backtick-quoted "
    "part that is not closed",
    "orders=db.`a`b`": "--tables: the catalog name 'db.`a`b`' given for table 'orders' has a backtick-quoted part",
    "orders=db.`a\nb`": "--tables: the catalog name 'db.`a\\nb`' given for table 'orders' has a control character",
    "orders=": "--tables: the catalog name '' given for table 'orders' is empty",
    "orders=db.x,,": "--tables 'orders=db.x,,' has an empty item",
    "`orders`=db.x": "--tables: '`orders`=db.x' is not TABLE=CATALOG_NAME",
    "tables.yaml": "--tables 'tables.yaml' is neither TABLE=CATALOG_NAME pairs nor a YAML file that exists",
}


def test_malformed_and_hostile_tables_are_refused_by_name():
    for text, start in REFUSED.items():
        with pytest.raises(StructuralError) as got:
            parse_tables(text)
        assert str(got.value).startswith(start), (text, str(got.value))


def test_a_tables_file_that_is_not_a_mapping_of_names_is_refused(tmp_path):
    listed = tmp_path / "t.yaml"
    for text, start in {
        "- orders\n": "tables file",
        "orders: 3\n": "tables file",
        "orders: db.a\norders: db.b\n": "cannot read tables file",  # a key twice (`pipelines.yamlfile`)
        "orderz: db.a\n": "--tables: 'orderz: db.a' names 'orderz', which is not a contract table",
    }.items():
        listed.write_text(text, encoding="utf-8")
        with pytest.raises(StructuralError) as got:
            parse_tables(str(listed))
        assert str(got.value).startswith(start), (text, str(got.value))


def test_tables_with_the_pandas_engine_a_mapping_or_no_data_are_refused_before_anything_runs(tmp_path):
    """One command line (the check is the commands' `spark_catalog.tables_option`, before anything is loaded), the
    other refusals from that function itself."""
    from pipelines.engines.spark_catalog import tables_option

    out = tmp_path / "s.parquet"
    pandas = cvp("score", "--tables", "orders=db.orders", "--as-of", "2025-01-01", "--out", out)
    assert pandas.exit_code == 2, pandas.output
    assert (
        "--tables names catalog tables, which only the Spark engine reads: add --engine spark"
        in pandas.output
    )
    assert "Traceback" not in pandas.output and not out.exists()
    mapping = tmp_path / "m.yaml"
    with pytest.raises(
        StructuralError,
        match="^--tables with --mapping: catalog tables are read with the contract's column names",
    ):
        tables_option(["orders=db.o"], "spark", mapping, None)
    with pytest.raises(StructuralError, match="^--data is required"):
        tables_option(None, "spark", None, None)
    with pytest.raises(
        StructuralError,
        match=r"^--tables names no orders table and no --data is given: .* \(orders=db.orders\)",
    ):
        tables_option(["customers=db.c"], "spark", None, None)  # was: a stop only once Spark had started


def test_tables_given_twice_add_up_and_a_table_in_both_is_refused(tmp_path):
    """Typer keeps the last of an option given twice: `--tables orders=... --tables customers=...` read the orders
    from `--data` without a word; each now adds its tables."""
    from pipelines.engines.spark_catalog import tables_option

    listed = tmp_path / "more.yaml"
    listed.write_text("tickets: crm.tickets\n", encoding="utf-8")
    got = tables_option(["orders=db.orders", f"{listed}", "customers=db.c"], "spark", None, None)
    assert {t: n.shown for t, n in got.items()} == {
        "orders": "db.orders",
        "tickets": "crm.tickets",
        "customers": "db.c",
    }
    with pytest.raises(StructuralError, match=r"names table 'orders' twice \(db.orders and db.other\)"):
        tables_option(["orders=db.orders", "orders=db.other"], "spark", None, None)
    with pytest.raises(StructuralError, match="catalog table DB.C for both 'orders' and 'customers'"):
        tables_option(["orders=db.c", "customers=DB.C"], "spark", None, None)
    assert tables_option(None, "pandas", None, tmp_path) is None  # no --tables: nothing changes


def test_a_table_both_in_data_and_named_or_no_orders_anywhere_is_refused(tmp_path):
    """Decided from the listing before the catalog is asked (no Spark session)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text("order_id,customer_id,ordered_at,revenue\nO1,C1,2024-01-01,1\n")
    (data / "tickets.csv").write_text("ticket_id,customer_id,opened_at\nT1,C1,2024-01-01\n")
    with pytest.raises(
        StructuralError, match=r"table 'orders' has two sources: orders.csv in --data and the "
    ):
        table_sources(None, data, {"orders": parse_name("db.orders", "orders")})  # type: ignore[arg-type]
    (data / "orders.csv").unlink()
    with pytest.raises(  # the file engine's one stop (`spark_sources.find_sources`), its way out --tables too
        StructuralError,
        match=r"^required table 'orders' is missing in .*; or a catalog table named with --tables orders=db.orders\)",
    ):
        table_sources(None, data, {"customers": parse_name("db.c", "customers")})  # type: ignore[arg-type]


def test_a_tables_file_whose_path_holds_an_equals_sign_is_read_as_the_file(tmp_path):
    """Was: a path with `=` (`/data/run=3/tables.yaml`, a partition-style folder) read as TABLE=NAME pairs and
    refused as not a contract table."""
    listed = tmp_path / "run=3" / "tables.yaml"
    listed.parent.mkdir()
    listed.write_text("orders: db.orders\n", encoding="utf-8")
    assert {t: n.shown for t, n in parse_tables(str(listed)).items()} == {"orders": "db.orders"}
    assert parse_tables("orders=db.orders")["orders"].parts == ("db", "orders")  # pairs, no such file: pairs
    with pytest.raises(StructuralError, match="is not a contract table"):
        parse_tables(str(tmp_path / "run=3" / "missing.yaml"))  # no such file: pairs, refused as such
    with pytest.raises(StructuralError, match="not a contract table"):
        parse_tables("x" * 5000 + "=db.t")  # too long for a path: read as pairs, no OSError


@pytest.mark.spark
def test_catalog_tables_load_as_the_same_tables_read_from_files(spark, tmp_path):
    """Orders from a global temporary view (`global_temp.<name>`: a two-part name), customers from a view whose
    name holds `;` and a space (quoted: read, never run), the managers and referrals from `--data`: the same
    reports, accepted rows, fingerprint and rejects as all four read from files; a name the catalog does not hold
    is refused by table and name, together with the others missing."""
    from pipelines.engines.spark_input import load_spark
    from pipelines.io import load_data
    from tests.pipelines.spark_input_cases import (
        CFG,
        CUSTOMERS,
        MANAGERS,
        ORDERS,
        REFERRALS,
        _assert_driver_tables,
        _reject_files,
        _write,
    )

    files = _write(
        tmp_path / "files", orders=ORDERS, customers=CUSTOMERS, account_managers=MANAGERS, referrals=REFERRALS
    )
    rest = _write(tmp_path / "rest", account_managers=MANAGERS, referrals=REFERRALS)
    view = f"cvp_orders_{tmp_path.name}".replace("-", "_")
    hostile = "cust; DROP VIEW x"
    read = spark.read.options(header=True, multiLine=True, escape='"')
    read.csv(str(files / "orders.csv")).createOrReplaceGlobalTempView(view)
    read.csv(str(files / "customers.csv")).createOrReplaceTempView(f"`{hostile}`")
    try:
        tables = parse_tables(f"orders=global_temp.{view},customers=`{hostile}`")
        got, written = load_spark(spark, rest, CFG, tmp_path / "rejects", tables)
        # the files' load: the pandas loader's, which the Spark engine's file load equals (`test_spark_input.py`)
        expected = load_data(files)
        assert got.result.report == expected.result.report  # rows in, accepted, rejected by reason
        _assert_driver_tables(got, expected)  # the accepted rows and the fingerprint of the whole tables
        assert sorted(Path(p).name for p in written) == sorted(expected.result.rejects)
        for name, frame in expected.result.rejects.items():  # the columns as read, source rows and reasons
            rejected = _reject_files(tmp_path / "rejects" / name)
            assert list(rejected.columns) == list(frame.columns)
            assert rejected["source_row"].astype(int).tolist() == frame["source_row"].tolist()
            assert rejected["reason"].tolist() == frame["reason"].tolist()
        missing = parse_tables("orders=cvp_no_db.orders,customers=`no such; view`")
        with pytest.raises(StructuralError) as stop:
            load_spark(spark, None, CFG, None, missing)
        assert str(stop.value).startswith(
            "--tables: the session's catalog (in-memory, current database 'default') has no table or view "
            "orders=cvp_no_db.orders, customers=`no such; view`: check the names"
        ), str(stop.value)
    finally:
        spark.catalog.dropGlobalTempView(view)
        spark.catalog.dropTempView(f"`{hostile}`")


def test_a_catalog_run_records_each_tables_catalog_name_in_the_manifest(trained, tmp_path, monkeypatch):
    """`run_score` given `--tables` writes the manifest's `catalog_tables` (was: the parameter was overwritten by the
    loaded tables, which the Spark engine lets go before the manifest, so it was never written). The Spark seams
    are replaced: the session by nothing, the Spark load by the pandas loader on the same files, the Spark backend by
    the pandas one (which lets the tables go as the Spark backend does); the plumbing from `run_score` to the
    manifest is what runs."""
    import contextlib

    from pipelines.demo import generate_company, write_company
    from pipelines.engines import run as run_module
    from pipelines.engines.run import run_score
    from pipelines.loading import load_and_report
    from tests.helpers import quiet

    small = tmp_path / "data"  # the fixture's model on a small company of its kind: 40 customers to score
    write_company(generate_company(40, "2021-01-01", "2024-12-31", 11), small)
    tables = parse_tables("orders=db.orders,customers=`my-db`.customers")
    seen = {}

    def pandas_load(data, cfg, console, master, rejects, catalog):
        seen["load"] = (data, catalog)
        return load_and_report(small, None, cfg, console, rejects)

    real = run_module.score_tables

    def pandas_backend(engine, *args):
        seen["engine"] = engine
        args = list(args)
        args[7] = None  # spark_master
        return real("pandas", *args)

    monkeypatch.setattr(
        "pipelines.engines.spark_session.spark_session", lambda master: contextlib.nullcontext()
    )
    monkeypatch.setattr("pipelines.engines.spark_input.load_and_report_spark", pandas_load)
    monkeypatch.setattr(run_module, "score_tables", pandas_backend)
    out = tmp_path / "s.parquet"
    run = run_score(
        None, "2024-12-01", out, None, "spark", None, None, trained.config, quiet(), "local[1]",
        catalog_tables=tables,
    )  # fmt: skip
    assert seen == {"load": (None, tables), "engine": "spark"}
    assert run.manifest["catalog_tables"] == {"orders": "db.orders", "customers": "`my-db`.customers"}
    assert run.manifest["engine"] == "spark"
    # stopped after loading (an as-of years after the last order: the data is read to say so): the rejects folder's note said (was: left out)
    shown = quiet(400)
    with pytest.raises(StructuralError) as stop:
        run_score(
            None, "2090-01-01", out, None, "spark", None, None, trained.config, shown, "local[1]",
            rejects=tmp_path / "rej", catalog_tables=tables,
        )  # fmt: skip
    assert "days after the last order (2024-" in str(stop.value)
    assert (
        f"note: the rejected rows are published only with the scores, so {tmp_path / 'rej'} still holds the "
        "previous run's; `cvp validate --engine spark --tables "
        f"'orders=db.orders,customers=`my-db`.customers' --rejects {tmp_path / 'rej'}` writes this data's rejected "
        "rows alone"
    ) in shown.file.getvalue(), (str(stop.value), shown.file.getvalue())


def test_a_catalog_run_stopped_after_loading_says_its_rejects_folder_holds_the_previous_runs():
    """`cvp score --engine spark --tables ... --rejects DIR` stopped after loading said nothing of DIR (was: the note
    left out, its `cvp validate` reading no catalog table): the first half said, the way out `cvp validate
    --engine spark` with the same tables (was, before it read them: the same scoring run once the stop is fixed);
    a Spark run of files only is sent to `cvp validate --engine spark` too (was: the pandas engine's)."""
    from pipelines.engines.spark_catalog import tables_text
    from pipelines.loading import rejects_note

    tables = parse_tables("orders=db.orders,customers=`my db`.c")
    assert tables_text(tables) == "orders=db.orders,customers=`my db`.c" and tables_text(None) == ""
    held = "the rejected rows are published only with the scores, so rej still holds the previous run's; "
    assert rejects_note(None, None, Path("rej"), tables_text(tables)) == (
        held + "`cvp validate --engine spark --tables "
        "'orders=db.orders,customers=`my db`.c' --rejects rej` writes this data's rejected rows alone"
    )
    mixed = rejects_note(Path("d"), None, Path("rej"), "orders=db.orders")
    assert mixed == held + (
        "`cvp validate --engine spark --data d --tables orders=db.orders --rejects rej` writes this data's "
        "rejected rows alone"
    )
    assert rejects_note(Path("d"), None, Path("rej")) == held + (
        "`cvp validate --data d --rejects rej` writes this data's rejected rows alone"
    )  # files only, the pandas engine: as before
    assert rejects_note(Path("d"), None, Path("rej"), "", "spark") == held + (
        "`cvp validate --engine spark --data d --rejects rej` writes this data's rejected rows alone"
    )  # files only, `cvp score --engine spark`: its engine (was: the pandas `cvp validate --data d ...`)
