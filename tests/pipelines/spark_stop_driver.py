"""The Spark engine's column-level stops judged without a session (`test_spark_stops`): the executors' row step
(`spark_input.check_rows`) on a table's rows as Spark reads a CSV file (text, an empty field missing), the masks
summed as the one aggregation sums them (`spark_stats.partial_stats` / `merge_stats`, one input partition), then the
driver's stops in `validate_spark`'s order (`spark_cross_stops.currency_stops`, `table_stops`, `cross_table_stops`) on
the rows the driver would collect (`spark_stops.TableRows`, its frame given). The glue between (the Spark reads,
the bucket step, the joins, the aggregation's job) is run by the real loads `test_spark_stops` keeps.

Not run here (no current case needs them; a case that does is judged by a real load): the referrals' join (a
referrals table is refused), the duplicate keys' window, the second pass (dates years before the rest, stray
decimals), `arrow_safe` and the schema cast, and `_check_throughout` (a no-op here)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.validation import StructuralError
from pipelines.config import AppConfig


def _as_spark_reads(path: Path) -> pd.DataFrame:
    """A CSV table as Spark's reader gives it to the row step: every column text, an empty field missing."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame.astype(object).where(frame != "", None)


def driver_stops(data: Path, cfg: AppConfig) -> None:
    """Raise the StructuralError the Spark engine's driver raises on the CSV tables of `data`, from their masks."""
    from features.contract import TABLES
    from features.header import structural_checks
    from pipelines.engines.spark_checks import (
        BUCKET,
        MASKS,
        RAW,
        REASON,
        ROLE,
        ROW,
        TABLE,
        UNKNOWN,
        VAL,
        _wide,
        bucket_rows,
    )
    from pipelines.engines.spark_cross_stops import (
        churn_stops,
        cross_table_stops,
        currency_stops,
        referral_stops,
        returns_stops,
    )
    from pipelines.engines.spark_input import check_rows
    from pipelines.engines.spark_masks import checked_columns
    from pipelines.engines.spark_stats import PART, merge_stats, partial_stats
    from pipelines.engines.spark_stops import ROW_MASKS, TableRows, table_stops

    d = cfg.data
    formats, bounds = dict(d.date_formats or {}), dict(d.max_values or {})
    from pipelines.io import find_table_files

    # in `spark_sources.find_sources`' order (the first stop raised is the engine's); CSV tables and no referrals
    # (the harness does not run the referrals' join: such a case is judged by a real load)
    found = find_table_files(data)
    assert "referrals" not in found and all(p.suffix == ".csv" for p in found.values()), sorted(found)
    read = {n: _as_spark_reads(p) for n, p in found.items()}
    judged, columns = [], {}
    for name, raw in read.items():
        structural_checks(TABLES[name], raw.head(5))
        columns[name] = checked_columns(TABLES[name], list(raw.columns))
        out = next(
            check_rows(
                iter([raw]),
                name,
                0,
                d.timezone,
                formats,
                bounds,
                currency=d.currency,
                refunds="returns" in read,
            )
        )
        out = (
            bucket_rows(out, name, [0]) if name != "account_managers" else out.assign(**{BUCKET: 0, ROLE: 0})
        )
        wide = {c: _wide(name, c) for c in out.columns if c.startswith((RAW, VAL))}
        judged.append(out.rename(columns=wide).assign(**{TABLE: name}))
    union = _bucket_step(pd.concat(judged, ignore_index=True), columns)
    n_columns = max(len(c) for c in columns.values())
    masks = sorted({*MASKS.values(), UNKNOWN})
    long = pd.concat(partial_stats(iter([union[[TABLE, REASON, *masks]].assign(**{PART: 0})]), n_columns, []))
    stats = merge_stats(long, n_columns, [])
    rows = {}
    for name in read:
        rows[name] = TableRows(None, name)
        own = union[union[TABLE] == name]
        # only the columns `TableRows.rows` collects (its masks, the table's own columns): a mask a stop reads but
        # the driver does not collect fails here as it would on a real load (was: the whole frame given)
        kept = [TABLE, ROW, REASON, *ROW_MASKS, *(c for c in own.columns if c.startswith(f"{name}|"))]
        rows[name]._rows = own[kept].sort_values(ROW, kind="stable").reset_index(drop=True)
    currency_stops(stats, rows, {n: list(r.columns) for n, r in read.items()}, d.currency, d.timezone)
    reports = {}
    for name in read:
        own = stats[stats[TABLE] == name]
        table_stops(TABLES[name], columns[name], own, rows[name], lambda i: None, formats)
        n = int(own["n"].sum())
        reports[name] = (n, int(own.loc[own[REASON].isna(), "n"].sum()))
    files = {n: (f"{n}.csv", True) for n in read}
    cross_table_stops(stats, reports, rows, files)
    referral_stops(stats, rows)
    returns_stops(stats, rows)
    churn_stops(stats, reports, rows)


def same_driver_stop(data: Path, match: str, cfg: AppConfig, **pandas_options: object) -> None:
    """The pandas loader stops on `data` with a message matching `match`; the Spark engine's driver, from the masks
    its executors' row step and aggregation give (`driver_stops`), with the same message. For a stop whose Spark
    side (the mask summed in the one aggregation, the driver's stop on the collected rows) a real load of its
    family runs (`test_spark_stops.SPARK_LOADS`): `spark_input_cases._same_stop` loads through Spark."""
    from pipelines.io import load_data

    with pytest.raises(StructuralError, match=match) as expected:
        load_data(data, **pandas_options)
    with pytest.raises(StructuralError) as got:
        driver_stops(data, cfg)
    assert str(got.value) == str(expected.value)


def _bucket_step(union: pd.DataFrame, columns: dict[str, list[str]]) -> pd.DataFrame:
    """`spark_checks.check_bucket` on the one bucket of every customer table's rows (with the managers' rows and
    the orders' last accepted date, as `validate_spark` gives them), the managers' rows after."""
    from features.crossrefs import CLOSING_DATES
    from pipelines.engines.spark_checks import (
        LAST_ORDER,
        REASON,
        REF,
        SIGNUP,
        TABLE,
        VAL,
        _wide,
        check_bucket,
    )

    managers = union[TABLE] == "account_managers"
    customer = union[~managers]
    if ({"customers"} | set(CLOSING_DATES)) & set(columns):  # `spark_orders.last_order_rows`
        orders = union[(union[TABLE] == "orders") & union[REASON].isna()]
        top = pd.Series(orders[_wide("orders", VAL + "ordered_at")], dtype="datetime64[ns]").max()
        customer = pd.concat(
            [customer, pd.DataFrame({TABLE: [LAST_ORDER], LAST_ORDER: [top]})], ignore_index=True
        )
    vals = {n: c for n, c in columns.items() if n != "account_managers"}
    bucket = pd.concat([customer, union[managers]], ignore_index=True)
    judged = check_bucket(bucket, vals, bool(managers.any()), "customers" in columns)
    judged = judged.drop(columns=[c for c in (REF, SIGNUP, LAST_ORDER) if c in judged.columns])
    return pd.concat([judged, union[managers]], ignore_index=True)
