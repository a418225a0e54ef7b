"""The one aggregation of the Spark validation (issue 11): rows per (table, input partition, reason) and the sums
of the row masks per contract column, from which the driver judges the column-level stops (`spark_stops`), the
"no value parses" rule and the counts of the reports.

in:  the judged union of every table (`spark_input.validate_spark`): table tag, position `ROW`, reason, the
     `MASKS` bit fields (bit i: contract column i), `UNKNOWN`, the date columns. out: one pandas row per (table,
     input partition, reason): `n`, per mask and column `<prefix><i>` (`MASKS`' prefixes), `u<i>` (`UNKNOWN`'s
     bits), per date column index `E<i>` (the dates of its rows marked `FIRST`, a list) and `F<i>` (the earliest
     marked `FRONTIER`).

How: each input partition is summed by a Python step with numpy (`partial_stats`: a bit count per mask and
column set in it, the dates of the few marked rows), its few rows per group collected (one Spark job, no
shuffle) and added up on the driver (`merge_stats`). Before, one Spark SQL aggregation computed the same sums:
about 600 `sum(bit)` expressions per row (41 masks by up to 14 columns), evaluated row by row without code
generation (its `collect_list` made it an `ObjectHashAggregate`): 66 of the 136 s of the validation job at 5,000
demo customers (docs/spark.md "Where a run's time goes"). Time semantics: none (no clock).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pipelines.engines.spark_checks import (
    FIRST,
    FRONTIER,
    MASKS,
    PARTITION_SHIFT,
    REASON,
    ROW,
    TABLE,
    UNKNOWN,
    UNKNOWN_BITS,
    _q,
    projection,
)

if TYPE_CHECKING:  # pyspark is an optional extra: imported only when the Spark engine runs
    from pyspark.sql import DataFrame as SparkDataFrame

PART = "part"
#: A missing reason (an accepted row) while the groups are keyed: reasons are plain sentences, never this.
_NO_REASON = "\x00accepted"
#: The long form a partition's sums travel in: one row per (group, key) with a count, or per date (`E`, `F`).
LONG_SCHEMA = f"{TABLE} string, {PART} bigint, {REASON} string, key string, n bigint, at timestamp_ntz"


def _bit_keys(n_columns: int) -> list[tuple[str, str, int]]:
    """(output column, mask column, bit) of every summed bit, in the aggregation's column order."""
    keys = [(f"{p}{i}", mask, i) for p, mask in MASKS.items() for i in range(n_columns)]
    return keys + [(f"u{i}", UNKNOWN, i) for i in range(UNKNOWN_BITS)]


def partial_stats(
    batches: Iterator[pd.DataFrame], n_columns: int, dates: list[int]
) -> Iterator[pd.DataFrame]:
    """The sums of one input partition (the mapInPandas body): `LONG_SCHEMA` rows, a count per group and key
    that is not 0 (`n`: the group's rows), the `FIRST` dates (`E<i>`, one row each) and the earliest `FRONTIER`
    date (`F<i>`) per group. in: `TABLE`, `PART`, `REASON`, the mask columns, `UNKNOWN`, `__e<i>` / `__f<i>` (a
    date column index's value where its `FIRST` / `FRONTIER` bit is set, else missing)."""
    counts: dict[tuple[str, int, str], dict[str, int]] = {}
    firsts: dict[tuple[str, int, str], dict[int, list[np.datetime64]]] = {}
    fronts: dict[tuple[str, int, str], dict[int, np.datetime64]] = {}
    masks = {mask for _, mask, _ in _bit_keys(n_columns)}
    for batch in batches:
        if not len(batch):
            continue
        keys = pd.DataFrame(
            {
                TABLE: batch[TABLE].astype(object),
                PART: batch[PART].astype(np.int64),
                REASON: batch[REASON].astype(object).where(batch[REASON].notna(), _NO_REASON),
            }
        )
        codes = keys.groupby([TABLE, PART, REASON], sort=False).ngroup().to_numpy()
        groups = [tuple(g) for g in keys.drop_duplicates().itertuples(index=False, name=None)]
        sizes = len(groups)
        found: dict[str, np.ndarray] = {"n": np.bincount(codes, minlength=sizes)}
        bits = {m: batch[m].fillna(0).to_numpy(dtype=np.int64) for m in masks}
        present = {m: int(np.bitwise_or.reduce(v)) for m, v in bits.items()}
        for out, mask, i in _bit_keys(n_columns):
            if present[mask] >> i & 1:  # most masks are 0 on most rows: only the bits set somewhere
                hit = (bits[mask] >> i) & 1
                found[out] = np.bincount(codes, weights=hit, minlength=sizes).astype(np.int64)
        for g, group in enumerate(groups):
            own = counts.setdefault(group, {})
            for out, per_group in found.items():
                if per_group[g]:
                    own[out] = own.get(out, 0) + int(per_group[g])
        for i in dates:
            first = batch[f"__e{i}"].to_numpy(dtype="datetime64[ns]")
            at = np.flatnonzero(~np.isnat(first))
            for row in at:
                firsts.setdefault(groups[codes[row]], {}).setdefault(i, []).append(first[row])
            front = batch[f"__f{i}"].to_numpy(dtype="datetime64[ns]")
            for row in np.flatnonzero(~np.isnat(front)):
                got = fronts.setdefault(groups[codes[row]], {})
                got[i] = min(got.get(i, front[row]), front[row])
    rows: list[tuple[str, int, str | None, str, int, object]] = []
    for (table, part, reason), own in counts.items():
        why = None if reason == _NO_REASON else reason
        rows += [(table, part, why, key, n, None) for key, n in own.items()]
        for i, values in firsts.get((table, part, reason), {}).items():
            rows += [(table, part, why, f"E{i}", 0, v) for v in values]
        for i, value in fronts.get((table, part, reason), {}).items():
            rows.append((table, part, why, f"F{i}", 0, value))
    frame = pd.DataFrame(rows, columns=[TABLE, PART, REASON, "key", "n", "at"])
    yield frame.astype({PART: np.int64, "n": np.int64, "at": "datetime64[ns]"})


def merge_stats(long: pd.DataFrame, n_columns: int, dates: list[int]) -> pd.DataFrame:
    """The partitions' `LONG_SCHEMA` rows added up: one row per (table, input partition, reason) with `n`,
    `E<i>`, `F<i>` per date index in `dates`, then every `_bit_keys` sum (0 where no row had the bit)."""
    group = [TABLE, PART, REASON]
    if not len(long):
        names = ["n", *(f"{x}{i}" for i in dates for x in "EF"), *(k for k, _, _ in _bit_keys(n_columns))]
        return pd.DataFrame(columns=[*group, *names])
    keyed = long.assign(**{REASON: long[REASON].astype(object).where(long[REASON].notna(), _NO_REASON)})
    sums = keyed[~keyed["key"].str.match(r"^[EF]\d")]
    wide = sums.pivot_table(index=group, columns="key", values="n", aggfunc="sum", fill_value=0)
    zeros = np.zeros(len(wide), dtype=np.int64)
    out: dict[str, object] = {"n": wide["n"].to_numpy(dtype=np.int64) if "n" in wide else zeros}
    for i in dates:
        first = keyed[keyed["key"] == f"E{i}"].groupby(group)["at"].agg(list)
        out[f"E{i}"] = [first.get(g, []) for g in wide.index]
        front = keyed[keyed["key"] == f"F{i}"].groupby(group)["at"].min()
        out[f"F{i}"] = pd.Series(
            [front.get(g, pd.NaT) for g in wide.index], dtype="datetime64[ns]"
        ).to_numpy()
    for name, _, _ in _bit_keys(n_columns):
        out[name] = wide[name].to_numpy(dtype=np.int64) if name in wide else zeros
    stats = pd.concat([wide.index.to_frame(index=False), pd.DataFrame(out)], axis=1)
    stats[REASON] = stats[REASON].astype(object).where(stats[REASON] != _NO_REASON, None)
    return stats


def column_stats(
    frame: SparkDataFrame, n_columns: int, dates: Mapping[int, list[str]] | None = None
) -> pd.DataFrame:
    """The aggregation over every table of `frame` (see module): rows per (table, input partition, reason), per
    contract column the rows of each of its `MASKS` (g0..: holding a value, b0..: not parsing, p0..: a
    placeholder word, ...) and the rows naming an unknown manager or customer (u0.., `UNKNOWN`). `dates`: per
    column index, the union's date columns at that index (`spark_checks.early_columns`): E0..: their batches'
    earliest dates (`FIRST`), F0..: the earliest `FRONTIER` (`spark_stops.early_dates`). One Spark job."""
    indexes = sorted(dates or {})
    picked = []  # SQL: a py4j call per column (`projection`)
    for i in indexes:
        # a row holds only its own table's columns
        value = f"coalesce({', '.join(map(_q, (dates or {})[i]))})"
        picked.append(f"CASE WHEN ({_q(FIRST)} & {1 << i}) > 0 THEN {value} END AS __e{i}")
        picked.append(f"CASE WHEN ({_q(FRONTIER)} & {1 << i}) > 0 THEN {value} END AS __f{i}")
    masks = sorted({mask for _, mask, _ in _bit_keys(n_columns)})
    narrow = frame.selectExpr(
        _q(TABLE),
        f"shiftright({_q(ROW)}, {PARTITION_SHIFT}) AS {PART}",
        *projection(REASON, *masks),
        *picked,
    )

    def partial(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pipelines.engines.spark_session import arrow_safe, quiet_pandas3

        quiet_pandas3()
        for out in partial_stats(batches, n_columns, indexes):
            yield arrow_safe(out)

    long = narrow.mapInPandas(partial, LONG_SCHEMA).toPandas()
    return merge_stats(long, n_columns, indexes)
