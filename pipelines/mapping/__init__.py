"""Foreign schemas: map a company's own files onto the data contract, as declared in a YAML file.

A mapping (see `configs/datasets/online_retail.yaml`) names source files and, per contract table, how to build it:

```yaml
timezone: Europe/London              # optional: overrides the configured timezone for this data
sources:
  lines: {file: online_retail.parquet}
tables:
  orders:
    source: lines
    where: "~InvoiceNo.str.startswith('C')"   # expression (true/false): which source rows are routed here
    require: {customer_id: CustomerID}        # rows with this source column blank are rejected, with that reason
    derive: {line_revenue: "Quantity * UnitPrice"}
    group_by: InvoiceNo                       # optional: one contract row per group
    columns:                                  # contract column: source column, or {agg: source column}
      order_id: InvoiceNo
      revenue: {sum: line_revenue}
  customers:
    source: lines
    role: dimension                           # built from rows already counted elsewhere
    ...
```
Row accounting per source: every source row is routed to exactly one routing table or rejected with a reason
(`missing customer_id`, `not routed by the mapping`, `routed to several tables`: such a row reaches no table,
`missing group_by column K`, `several C values in one K group`, `division by zero in derive.D in its K group`); most of a source's rows routed to no table is a
structural error (a filter missing how the export writes a value). Rejects a source holds on purpose
(Online Retail's guest lines) are declared with why under `sources.*.expected_rejects`: `cvp score` says them as a note. Dimension tables read rows without routing them,
only those their source's routing tables kept (a row rejected at the source is in no table). The mapped tables then go through the ordinary contract validation.

`derive` and `where` are written in a small safe expression language (`pipelines.mapping.expressions`): column
names, literals, arithmetic, comparisons, boolean logic and an allow-list of text/date methods, checked when the
mapping is loaded; a refused expression is a structural error naming its key (`tables.orders.derive.line_revenue`).
A table's `derive` columns are evaluated in the order written, each seeing the derives above it.
`where` must give true/false per row. `sources.*.file` is a relative path that must stay inside `--data`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from features.contract import TABLES
from features.dates import check_date_format, check_timezone
from features.names import examples
from features.row_rules import MIN_ROWS, SHARE
from features.validation import StructuralError
from pipelines.mapping.columns import builds_orders, one_source_per_column
from pipelines.mapping.expressions import ExpressionError, parse, zero_divisors
from pipelines.mapping.projection import as_key, group_keys, project, several_values
from pipelines.mapping.rows import derive_columns, where_rows
from pipelines.mapping.source_checks import check_mostly_unrouted
from pipelines.yamlfile import read_yaml_settings

AGGREGATIONS = ("first", "min", "max", "sum", "mean", "count")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExpectedRejects(_Frozen):
    """Rows of a source the company's data holds on purpose and the product cannot use (Online Retail's guest
    lines: no CustomerID), declared with why: still rejects (in the rejects file, with their reason; rows in =
    accepted + rejected), but said as a note, not a warning, while at most `max_share` of the source's rows."""

    why: str = Field(min_length=1)
    max_share: float = Field(gt=0, le=1)


class SourceSpec(_Frozen):
    file: str
    #: the `where` filters keep only a part of this source on purpose (one country of an export): most rows
    #: routed to no table is then expected, not a filter missing how the export writes a value
    part: bool = False
    #: reject reason (`missing customer_id`, of a `require`) -> why such rows are expected (`ExpectedRejects`)
    expected_rejects: dict[str, ExpectedRejects] = Field(default_factory=dict)

    @field_validator("file")
    @classmethod
    def _relative(cls, v: str) -> str:
        p = Path(v)
        if not v.strip() or p.is_absolute() or v.startswith("~") or ".." in p.parts:
            raise ValueError(f"source file {v!r} must be a path relative to --data, without '..'")
        return v


class TableMapping(_Frozen):
    source: str
    role: Literal["route", "dimension"] = "route"
    where: str | None = None
    require: dict[str, str] = Field(default_factory=dict)
    derive: dict[str, str] = Field(default_factory=dict)
    group_by: str | list[str] | None = None
    columns: dict[str, str | dict[str, str]]
    date_formats: dict[str, str] = Field(default_factory=dict)  # contract column -> strftime, e.g. "%d/%m/%Y"

    @model_validator(mode="after")
    def _date_formats_usable(self) -> TableMapping:
        for target, fmt in self.date_formats.items():
            if target not in self.columns:
                raise ValueError(f"date_formats names {target!r}, which is not one of the mapped columns")
            check_date_format(target, fmt)
        return self

    @field_validator("columns")
    @classmethod
    def _aggregations_known(cls, v: dict[str, str | dict[str, str]]) -> dict[str, str | dict[str, str]]:
        for target, spec in v.items():
            if isinstance(spec, dict):
                if len(spec) != 1 or next(iter(spec)) not in AGGREGATIONS:
                    raise ValueError(
                        f"column {target!r}: use one of {AGGREGATIONS} as {{agg: source_column}}"
                    )
        return one_source_per_column(v)


class Mapping(_Frozen):
    description: str = ""
    timezone: str | None = None
    sources: dict[str, SourceSpec]
    tables: dict[str, TableMapping]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str | None) -> str | None:
        return None if v is None else check_timezone(v)

    @field_validator("sources")
    @classmethod
    def _one_source_per_file(cls, v: dict[str, SourceSpec]) -> dict[str, SourceSpec]:
        # Two sources on one file: each reports the rows the other routes as "not routed by the mapping", and
        # rows in are counted twice. Route every table from one source instead.
        import os.path

        seen: dict[str, str] = {}
        for name, spec in v.items():
            key = os.path.normpath(spec.file)
            if key in seen:
                raise ValueError(
                    f"sources {seen[key]!r} and {name!r} read the same file {spec.file!r}; declare it once "
                    "and let each table name that one source"
                )
            seen[key] = name
        return v

    @model_validator(mode="after")
    def _expected_rejects_named(self) -> Mapping:
        """An expected reject names a `require` of a table routed from that source (`missing customer_id`): a
        reason no row can have would never apply, and the rejects it meant would stay warnings without a word."""
        for name, src in self.sources.items():
            reasons = {
                f"missing {target}"
                for spec in self.tables.values()
                if spec.source == name and spec.role == "route"
                for target in spec.require
            }
            for reason in src.expected_rejects:
                if reason not in reasons:
                    raise ValueError(
                        f"sources.{name}.expected_rejects names {reason!r}, which no row of {name} can be "
                        f"rejected for; its `require` reasons: {', '.join(sorted(reasons)) or 'none'}"
                    )
        return self

    @field_validator("tables")
    @classmethod
    def _tables_in_contract(cls, v: dict[str, TableMapping]) -> dict[str, TableMapping]:
        unknown = sorted(set(v) - set(TABLES))
        if unknown:
            raise ValueError(f"unknown contract table(s) {unknown}; the contract has {list(TABLES)}")
        from features.names import did_you_mean

        problems = []  # a mapped column the contract does not have is never read (was: a note, `cots` dropped)
        for name, spec in v.items():
            known = TABLES[name].column_names
            for target in (t for t in spec.columns if t not in known):
                guess = did_you_mean(target, known)
                problems.append(
                    f"{name}.columns.{target}: not a column of the contract's {name} table"
                    + (f" (did you mean {guess!r}?)" if guess else f"; its columns: {', '.join(known)}")
                )
        if problems:
            raise ValueError("; ".join(problems))
        return builds_orders(v)


def load_mapping(path: Path) -> Mapping:
    """Read and check a mapping file: its shape, and every `derive`/`where` expression against the language."""
    data = read_yaml_settings(path, "mapping")
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        raise StructuralError(f"invalid mapping {path}: " + "; ".join(_problems(exc))) from None
    except ValueError as exc:
        raise StructuralError(f"invalid mapping {path}:\n{exc}") from exc
    for table, spec in mapping.tables.items():
        for key, expr in _expressions(table, spec):
            try:
                parse(expr)
            except ExpressionError as exc:
                shown = expr if len(str(expr)) <= 200 else f"{str(expr)[:80]}..."  # not 40,000 characters
                raise StructuralError(f"mapping {path}: {key} = {shown!r} is refused: {exc}") from None
    return mapping


def read_zone(mapping: Mapping | Path | str | None, timezone: str) -> str:
    """The time zone a run reads its data in: the mapping's `timezone:` when it names one, else `timezone`
    (`data.timezone`). One rule for every reader (`pipelines.io.load_data`), for what a training records as its
    data's zone (the model contract's `data.timezone`) and for the side a scoring run compares with it."""
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = load_mapping(Path(mapping))
    return (mapping.timezone if mapping is not None else None) or timezone


def _problems(exc: ValidationError) -> list[str]:
    """Pydantic's report as one line per key (`tables.orders.rename = 'x': should be a valid dictionary`), not
    its multi-line text with error types and a web address."""
    out = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err.get("loc", ()))
        msg = (
            str(err.get("msg", "invalid")).removeprefix("Value error, ").replace("Input should", "should", 1)
        )
        if err.get("type") == "extra_forbidden":
            msg = "unknown key"
        given = err.get("input")
        shown = (
            "" if isinstance(given, dict | list) or err.get("type") == "extra_forbidden" else f" = {given!r}"
        )
        out.append(
            f"{key}{shown}: {msg}" if key else f"{msg} (the file holds {type(given).__name__} {given!r})"
        )
    return out


def _expressions(table: str, spec: TableMapping) -> list[tuple[str, str]]:
    out = [(f"tables.{table}.derive.{k}", e) for k, e in spec.derive.items()]
    if spec.where is not None:
        out.append((f"tables.{table}.where", spec.where))
    return out


def resolve_source(data_dir: Path, file: str, mapping_path: Path) -> Path:
    """The source file inside `data_dir` (symlinks resolved); anything resolving outside it is refused."""
    root = Path(data_dir).resolve()
    path = (root / file).resolve()
    if not path.is_relative_to(root):
        raise StructuralError(
            f"mapping {mapping_path}: source file {file!r} resolves to {path}, outside the data directory {root}"
        )
    from pipelines.table_files import check_file_kind

    if (
        path.is_dir()
    ):  # an export in part files: read by no engine here (`--mapping` maps on the driver, pandas)
        raise StructuralError(
            f"mapping {mapping_path}: source file {file!r} is a directory (an export in part files?); a mapping "
            "reads one file per source: join the parts into one file (one header line) and name that, so an "
            "invoice whose lines are in two parts is grouped once"
        )  # was: `cannot read ...: OSError: Cannot open for reading: path ... is a directory`
    check_file_kind(path, root)  # a FIFO would be waited on forever; outside and a directory: said above
    return path


def _blank(s: pd.Series) -> pd.Series:
    missing = s.isna()
    if not pd.api.types.is_numeric_dtype(s.dtype):
        missing = missing | s.astype("str").str.strip().eq("")
    return missing


def apply_mapping(
    mapping: Mapping, sources: dict[str, pd.DataFrame], kept: dict[str, dict[str, int]] | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], dict[str, dict[str, int]]]:
    """Build raw contract tables from source frames.

    Returns (tables, source_rejects, source_report): `source_rejects[source]` holds rejected source rows with
    `source_row` and `reason`; `source_report[source]` counts rows in, rows routed per table, and rejects per reason.
    `kept`, when given, receives per table the rows its `where` kept (`where`: every row without one) and, after
    it, the rows each later step removed (`missing customer_id`, `routed to several tables`, ...), in order: what
    emptied a table (`features.table_rows.emptied_table_notes`).
    """
    kept = {} if kept is None else kept
    routed: dict[str, np.ndarray] = {}
    reasons: dict[str, np.ndarray] = {}
    for name, frame in sources.items():
        routed[name] = np.zeros(len(frame), dtype=np.int64)
        reasons[name] = np.full(len(frame), None, dtype=object)

    # First every table's rows, then the projection: a row routed to several tables is known only once every
    # `where` has run, and it must then reach none of them (it is rejected once, not counted three times).
    chosen: dict[str, tuple[TableMapping, pd.DataFrame, np.ndarray]] = {}
    for table, spec in mapping.tables.items():
        if spec.source not in sources:
            raise StructuralError(
                f"mapping for {table!r} reads source {spec.source!r}, which is not declared"
            )
        src = sources[spec.source]
        keys = group_keys(spec)
        missing = sorted((set(spec.require.values()) | set(keys)) - set(src.columns))
        if missing:
            raise StructuralError(
                f"source {spec.source!r} (for table {table!r}) has no column(s) {missing}; "
                f"it has {list(src.columns)}"
            )
        clash = sorted(set(spec.derive) & set(map(str, src.columns)))
        if clash:  # assigning it would replace the source column for every later use, without a word
            raise StructuralError(
                f"mapping tables.{table}.derive names {clash}, which source {spec.source!r} already has; "
                "give the derived column a name of its own"
            )
        frame = derive_columns(table, spec, src)
        take = where_rows(table, spec, frame)
        if spec.role == "route":
            routed[spec.source] += take
        ok = take.copy()
        kept[table] = {"where": int(take.sum())}
        # A blank group key: the grouping would drop the row without a word (rows in != rows out).
        required = [(target, col) for target, col in spec.require.items()]
        required += [(f"group_by column {k}", k) for k in keys]
        for target, col in required:
            blank = _blank(frame[col]).to_numpy()
            if spec.role == "route":
                r = reasons[spec.source]
                r[take & blank & pd.isna(r)] = f"missing {target}"
            ok = _removed(kept[table], ok, blank, f"missing {target}")
        for k, e in spec.derive.items() if spec.role == "route" else ():
            zero = _zero_divisors(frame, e, f"tables.{table}.derive.{k}", ok, keys)
            r = reasons[spec.source]
            r[zero & pd.isna(r)] = f"division by zero in derive.{k}" + (
                f" in its {'/'.join(keys)} group" if keys else ""
            )
            ok = _removed(kept[table], ok, zero, f"division by zero in derive.{k}")
        if spec.role == "route" and keys:
            for col, several in several_values(spec, frame, ok, keys).items():
                r = reasons[spec.source]
                r[several & pd.isna(r)] = f"several {col} values in one {'/'.join(keys)} group"
                ok = _removed(kept[table], ok, several, f"several {col} values in one group")
        chosen[table] = (spec, frame, ok)

    tables: dict[str, pd.DataFrame] = {}
    routed_counts: dict[str, dict[str, int]] = {name: {} for name in sources}
    routing = {spec.source for spec, _, _ in chosen.values() if spec.role == "route"}
    for table, (spec, frame, ok) in chosen.items():
        if spec.role == "route":
            ok = _removed(kept[table], ok, routed[spec.source] > 1, "routed to several tables")
            routed_counts[spec.source][table] = int(ok.sum())
        elif spec.source in routing:  # a dimension reads only the rows its source's routing kept (was: every
            # row, so a line rejected as `several CustomerID values` still made a customer, or set its signup_at)
            dropped = (routed[spec.source] != 1) | ~pd.isna(reasons[spec.source])
            ok = _removed(kept[table], ok, dropped, f"not kept by the routing of source {spec.source!r}")
        tables[table] = project(table, spec, frame[ok])

    source_rejects: dict[str, pd.DataFrame] = {}
    report: dict[str, dict[str, int]] = {}
    for name, frame in sources.items():
        r = reasons[name]
        unrouted = (routed[name] == 0) & pd.isna(r)
        if name in routing and not mapping.sources[name].part:
            check_mostly_unrouted(mapping, name, frame, unrouted)
        r[unrouted] = "not routed by the mapping"
        r[(routed[name] > 1) & pd.isna(r)] = "routed to several tables"
        bad = ~pd.isna(r)
        rej = frame[bad].copy()
        rej.insert(0, "source_row", np.flatnonzero(bad))
        rej["reason"] = r[bad].astype(str)
        source_rejects[name] = rej.reset_index(drop=True)
        report[name] = {"rows_in": len(frame), **{f"to {t}": n for t, n in routed_counts[name].items()}}
        report[name].update({k: int(v) for k, v in rej["reason"].value_counts().sort_index().items()})
    return tables, source_rejects, report


def _removed(kept: dict[str, int], ok: np.ndarray, hit: np.ndarray, why: str) -> np.ndarray:
    """`ok` without the rows `hit`, counting those it held under `why` in `kept` (`apply_mapping`'s)."""
    n = int((ok & hit).sum())
    if n:
        kept[why] = kept.get(why, 0) + n
    return ok & ~hit


def _zero_divisors(frame: pd.DataFrame, expr: str, what: str, ok: np.ndarray, keys: list[str]) -> np.ndarray:
    """The routed rows whose `derive` divides by zero (`Quantity * UnitPrice / Rate`, Rate 0), with every row of
    their group: the line's value is infinite or missing, and the group's other lines alone would be a partial
    total (was: the order rejected as `non-finite revenue` or `missing revenue`, naming neither the division nor
    the line)."""
    try:
        zero = zero_divisors(parse(expr), frame) & ok
    except ExpressionError as exc:
        raise StructuralError(f"mapping {what} = {expr!r}: {exc}") from None
    n, routed = int(zero.sum()), int(ok.sum())
    if n >= MIN_ROWS and n > SHARE * routed:  # a divisor column of zeros: the mapping's, not the lines' fault
        raise StructuralError(
            f"mapping {what} = {expr!r} divides by zero on {n:,} of the {routed:,} rows it reads: a divisor "
            "column the export leaves 0 (a rate, a count), or another column meant. Rejected, these rows would "
            f"be dropped with their groups. Example rows:\n{examples(frame, pd.Series(zero, index=frame.index))}"
        )  # was: every such line a source reject `division by zero`, the table lost with exit 0
    if keys and zero.any():
        rows = frame.loc[ok]
        group_zero = pd.Series(zero[ok], index=rows.index).groupby(
            [as_key(rows[k]) for k in keys], dropna=True
        )
        zero = zero.copy()
        zero[np.flatnonzero(ok)] = group_zero.transform("any").to_numpy(dtype=bool)
    return zero


def source_counts(counts: dict[str, int]) -> dict[str, Any]:
    """One source's `apply_mapping` report (`rows_in`, `to <table>`: routed, any other key: a reason) as rows
    in, accepted, rejected (in = accepted + rejected) and rejected by reason: the one reading of that report."""
    reasons = {k: v for k, v in counts.items() if k != "rows_in" and not k.startswith("to ")}
    return {
        "in": counts["rows_in"],
        "accepted": sum(v for k, v in counts.items() if k.startswith("to ")),
        "rejected": sum(reasons.values()),
        "rejected_by_reason": reasons,
    }


def expected_rejects(mapping: Mapping) -> dict[str, dict[str, dict[str, Any]]]:
    """Per source, the rejects `mapping` expects, with why (`sources.*.expected_rejects`): kept with the data it
    loaded (`pipelines.io.LoadedData.expected_rejects`), so what a run says is what it applied."""
    return {
        name: {r: e.model_dump() for r, e in src.expected_rejects.items()}
        for name, src in mapping.sources.items()
    }


def source_rows(
    report: dict[str, dict[str, int]] | None, expected: dict[str, dict[str, dict[str, Any]]] | None
) -> dict[str, dict[str, Any]]:
    """Per source (`apply_mapping`'s `report`), what a run's manifest records (`source_counts`) and the rejects
    the mapping expects, with why (`expected_rejects` of the mapping that loaded it: the file is not read again,
    was: re-read by each caller, a mapping edited after loading said other expected rejects than those applied).
    Empty without a report."""
    if not report:
        return {}
    return {
        name: source_counts(counts) | {"expected_rejects": dict((expected or {}).get(name, {}))}
        for name, counts in report.items()
    }
