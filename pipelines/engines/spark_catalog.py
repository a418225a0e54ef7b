"""Catalog tables for the Spark engine (`--engine spark --tables orders=db.orders,...`, issue 11): a contract table
read with `spark.table` from the session's catalog (a Hive metastore, Unity, Glue, a temporary view) instead of a
file in `--data`. A catalog table then takes exactly a file table's path (`spark_input.validate_spark`): the
contract, the type checks, the row rules and rejects, the counts, the stops and the fingerprint.

`--tables` is either `TABLE=NAME` pairs separated by commas or the path of a YAML file mapping each contract table
to its catalog name (`orders: db.orders`): a file that exists (its path may hold a `=`), or a text without `=`. A
name is an identifier and only ever one: its parts (`catalog.db.table`, any depth) are plain words (letters,
digits, `_`) or backtick-quoted (`` `my-db` ``, a backtick doubled inside); each part is quoted again before Spark
parses the name, never pasted into SQL text, so a `;`, a space or a quote in it names a table with that character
or is refused, never runs as a statement.

Parsing and every check but the catalog look-up are pure (no Spark): the command line refuses a wrong `--tables`
before the model is loaded or a JVM started.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from features.contract import TABLES
from features.errors import StructuralError, printable

if TYPE_CHECKING:  # pyspark is an optional extra: imported only when the Spark engine runs
    from pyspark.sql import SparkSession

    from pipelines.engines.spark_sources import Source

_PLAIN = re.compile(r"[A-Za-z0-9_]+")
#: Characters a quoted part may not hold: control characters (a newline ends a log line; nothing names a table so)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_EXAMPLE = "orders=db.orders,customers=db.customers"
_WAY_OUT = (
    f"give --tables TABLE=CATALOG_NAME pairs separated by commas ({_EXAMPLE}) or a YAML file of them "
    "(orders: db.orders)"
)


@dataclasses.dataclass(frozen=True)
class CatalogName:
    """A catalog table's name as parts (`("db", "orders")`): `shown` as a user writes it (a part that is not a plain
    word in backticks), `quoted` every part in backticks, which is all Spark is ever given."""

    parts: tuple[str, ...]

    @property
    def shown(self) -> str:
        return ".".join(p if _PLAIN.fullmatch(p) else _quote(p) for p in self.parts)

    @property
    def quoted(self) -> str:
        return ".".join(_quote(p) for p in self.parts)


def _quote(part: str) -> str:
    return "`" + part.replace("`", "``") + "`"


def _split(text: str, sep: str, limit: int = -1) -> list[str]:
    """`text` split at `sep` outside backtick-quoted parts (a quoted part may hold `,`, `=` or `.`)."""
    out, start, quoted = [], 0, False
    for i, ch in enumerate(text):
        if ch == "`":
            quoted = not quoted  # a doubled backtick flips twice: still inside
        elif ch == sep and not quoted and (limit < 0 or len(out) < limit):
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def parse_name(text: str, table: str) -> CatalogName:
    """One catalog name (`db.orders`, `` cat.`my-db`.orders ``), or the stop naming what is wrong in it."""

    def refuse(why: str) -> StructuralError:
        return StructuralError(
            f"--tables: the catalog name {printable(text)!r} given for table {table!r} {why}. A name is "
            "catalog.database.table (or database.table, or table): each part letters, digits and _, or quoted in "
            "backticks when it holds other characters (`my-db`.orders; a backtick inside doubled)"
        )

    name = text.strip()
    if not name:
        raise refuse("is empty")
    parts: list[str] = []
    for raw in _split(name, "."):
        part = raw.strip()
        if part.startswith("`"):
            if len(part) < 2 or not part.endswith("`") or "`" in part[1:-1].replace("``", ""):
                raise refuse(
                    f"has a backtick-quoted part that is not closed or has a lone backtick ({printable(part)})"
                )
            inner = part[1:-1].replace("``", "`")
            if not inner.strip():
                raise refuse("has an empty quoted part")
            if _CONTROL.search(inner):
                raise refuse("has a control character (a line break, a tab) in a quoted part")
            parts.append(inner)
        elif not part:
            raise refuse("has an empty part (two dots, or a dot at an end)")
        elif not _PLAIN.fullmatch(part):
            bad = sorted({c for c in part if not _PLAIN.fullmatch(c)})
            shown = " ".join("space" if c == " " else printable(c) for c in bad)
            raise refuse(
                f"has a part, {printable(part)!r}, with characters that are not letters, digits or _ ({shown}); "
                "quote it in backticks if the table is really named so (never read as SQL)"
            )
        else:
            parts.append(part)
    return CatalogName(tuple(parts))


def _contract_table(table: str, item: str) -> str:
    from features.names import did_you_mean

    name = table.strip()
    if name in TABLES:
        return name
    guess = did_you_mean(name, TABLES)
    hint = f"did you mean {guess!r}? " if guess else ""
    raise StructuralError(
        f"--tables: {printable(item.strip())!r} names {printable(name)!r}, which is not a contract table: "
        f"{hint}the tables are {', '.join(TABLES)}"
    )


def parse_tables(text: str) -> dict[str, CatalogName]:
    """`--tables` as {contract table: catalog name}: `TABLE=NAME` pairs separated by commas, or (the path of a file
    that exists, or a text without `=`) a YAML file mapping each table to its name. Every stop names the item and
    the way out."""
    if not text.strip():
        raise StructuralError(f"--tables is empty: {_WAY_OUT}")
    if _is_file(text) or "=" not in text:  # a file first: its path may hold a `=`
        return _tables_file(Path(text))
    found: dict[str, CatalogName] = {}
    for item in _split(text, ","):
        if not item.strip():
            raise StructuralError(
                f"--tables {printable(text)!r} has an empty item (two commas, or one at an end): {_WAY_OUT}"
            )
        pair = _split(item, "=", limit=1)
        if len(pair) != 2 or "`" in pair[0]:
            raise StructuralError(
                f"--tables: {printable(item.strip())!r} is not TABLE=CATALOG_NAME: {_WAY_OUT}"
            )
        table = _contract_table(pair[0], item)
        _add(found, table, parse_name(pair[1], table))
    return _distinct(found)


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a name too long for a path, a NUL in it: not a file
        return False


def _add(found: dict[str, CatalogName], table: str, name: CatalogName) -> None:
    """`found[table] = name`, a table named twice (in one `--tables` or across them) refused."""
    if table in found:
        raise StructuralError(
            f"--tables names table {table!r} twice ({found[table].shown} and {name.shown}): give each table once"
        )
    found[table] = name


def _tables_file(path: Path) -> dict[str, CatalogName]:
    from pipelines.yamlfile import read_yaml

    if not path.is_file():
        raise StructuralError(
            f"--tables {printable(str(path))!r} is neither TABLE=CATALOG_NAME pairs nor a YAML file that exists: "
            f"{_WAY_OUT}"
        )
    held = read_yaml(path, "tables file")  # a key written twice is refused there
    if not isinstance(held, dict) or not held:
        raise StructuralError(
            f"tables file {path} holds no mapping of tables to catalog names: write one line per table, "
            "`orders: db.orders`"
        )
    found = {}
    for table, name in held.items():
        item = f"{table}: {name}"
        if not isinstance(table, str) or not isinstance(name, str):
            raise StructuralError(
                f"tables file {path}: {printable(item)!r} is not `table: catalog name` (both text); write "
                "`orders: db.orders`"
            )
        found[_contract_table(table, item)] = parse_name(name, table.strip())
    return _distinct(found)


def _distinct(found: dict[str, CatalogName]) -> dict[str, CatalogName]:
    """One catalog table named for two contract tables: the columns of one cannot be both's. Names are compared as
    written (case aside): two spellings of one table (`spark_catalog.db.orders` and `db.orders`, `orders` and
    `default.orders`) pass here, since what a shorter name means depends on the session's current catalog and
    database (and a temporary view shadows a table of the same one-part name); each is then read and checked
    against its own contract table."""
    seen: dict[tuple[str, ...], str] = {}
    for table, name in found.items():
        key = tuple(p.lower() for p in name.parts)  # Spark's catalog names are not case-sensitive
        if key in seen:
            raise StructuralError(
                f"--tables names the catalog table {name.shown} for both {seen[key]!r} and {table!r}: give each "
                "table its own"
            )
        seen[key] = table
    return found


def tables_text(tables: Mapping[str, CatalogName] | None) -> str:
    """`--tables` written back as one option's text (`orders=db.orders,customers=db.customers`; "" for none)."""
    return ",".join(f"{table}={name.shown}" for table, name in (tables or {}).items())


def check_tables_option(tables: Mapping[str, CatalogName] | None, engine: str, mapping: Path | None) -> None:
    """`--tables` where it cannot be read: with the pandas engine (files only), with `--mapping` (a foreign schema
    is mapped from files by the pandas loader)."""
    if not tables:
        return
    if engine != "spark":
        raise StructuralError(
            "--tables names catalog tables, which only the Spark engine reads: add --engine spark, or export the "
            "tables to files (CSV or Parquet) in --data for the pandas engine"
        )
    if mapping is not None:
        raise StructuralError(
            "--tables with --mapping: catalog tables are read with the contract's column names (a mapping is "
            "applied to files by the pandas engine); give catalog views that rename the columns (CREATE VIEW "
            "db.orders_contract AS SELECT ... AS customer_id, ...), or export files and drop --engine spark"
        )


def check_data_given(data: Path | None, tables: Mapping[str, CatalogName] | None) -> None:
    """`--data` may be left out only when `--tables` names the tables (every one read then comes from the catalog),
    the orders at least."""
    if data is not None or (tables and "orders" in tables):
        return
    if tables:
        raise StructuralError(
            "--tables names no orders table and no --data is given: the orders are required; name them in "
            "--tables (orders=db.orders), or give --data with orders.csv, orders.parquet or a directory orders/ "
            "of part files"
        )
    raise StructuralError(
        "--data is required: the directory with one file per table (CSV or Parquet); with --engine spark, "
        f"--tables {_EXAMPLE} reads catalog tables instead (then --data only for the tables not named)"
    )


def tables_option(
    texts: list[str] | None, engine: str, mapping: Path | None, data: Path | None
) -> dict[str, CatalogName] | None:
    """`--tables` of a command line (given once or more: each adds its tables) parsed and checked against its other
    flags, before anything is loaded (was, given twice: the last kept, the first's tables read from `--data`)."""
    tables: dict[str, CatalogName] | None = None
    for text in texts or ():
        tables = tables or {}
        for table, name in parse_tables(text).items():
            _add(tables, table, name)
    tables = None if tables is None else _distinct(tables)
    check_tables_option(tables, engine, mapping)
    check_data_given(data, tables)
    return tables


def catalog_sources(spark: SparkSession, tables: Mapping[str, CatalogName]) -> dict[str, Source]:
    """Each named table as a `Source` Spark reads with `spark.table`, every name looked up in the session's
    catalog first: the names it does not hold are refused together, by table and name."""
    from pipelines.engines.spark_sources import Source

    missing = []
    for table, name in tables.items():
        try:
            there = spark.catalog.tableExists(name.quoted)
        except Exception as exc:  # Spark's own (a catalog that is not configured: CATALOG_NOT_FOUND)
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            missing.append(f"{table}={name.shown} ({printable(first[:300])})")
            continue
        if not there:
            missing.append(f"{table}={name.shown}")
    if missing:
        where = spark.conf.get("spark.sql.catalogImplementation", "in-memory")
        current = spark.catalog.currentDatabase()
        raise StructuralError(
            f"--tables: the session's catalog ({where}, current database {current!r}) has no table or view "
            f"{', '.join(missing)}: check the names (SHOW TABLES IN the database) and that this Spark session "
            "reaches your metastore (spark.sql.catalogImplementation=hive and hive.metastore.uris, or your "
            'platform\'s catalog settings: docs/spark.md, "Catalog tables")'
        )
    return {table: Source(name.shown, "catalog", catalog=name.quoted) for table, name in tables.items()}


def table_sources(
    spark: SparkSession, data: str | Path | None, tables: Mapping[str, CatalogName] | None
) -> tuple[dict[str, Source], list[str]]:
    """Every table's source: the files of `--data` (`spark_sources.find_sources`) and the catalog tables of
    `--tables`, a table in both refused; the orders table is required from one of them."""
    from pipelines.engines.spark_sources import data_uri, find_sources

    check_data_given(None if data is None else Path(data), tables)
    if not tables:
        return find_sources(spark, data_uri(data))
    # the orders required from `--data` unless named here (`check_data_given`: named when there is no `--data`)
    found, notes = ({}, []) if data is None else find_sources(spark, data_uri(data), "orders" not in tables)
    for table, name in tables.items():
        if table in found:
            raise StructuralError(
                f"table {table!r} has two sources: {Path(found[table].path).name} in --data and the catalog table "
                f"{name.shown} (--tables): leave it out of --tables, or move the file out of --data"
            )
    catalog = catalog_sources(spark, tables)
    merged = found | catalog
    # in the order of the pandas loader's files (by name: `pipelines.io.find_table_files`), so the counts table lists
    # them as for files (was: the contract's order, `cvp validate --engine spark --tables` unlike the pandas engine)
    return {name: merged[name] for name in sorted(merged)}, notes
