"""Helpers several test files use, written once here instead of copied into each: a raw orders table, a
two-orders-a-day company's orders and tickets, a data
directory of CSV tables, a console that records, `cvp` through typer's test runner, the manifest beside an output, a
config file from YAML text, the checks that a secret was shown nowhere, and the guards that put MLflow's URIs and the
process's CPUs back after a test."""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
from rich.console import Console

#: Parquet's own row-group write, taken before any test patches it (`parquet_writes` spies on it).
WRITE_TABLE = pq.ParquetWriter.write_table


def raw_orders(n: int = 6, first_day: int = 1, revenue: str = "10") -> pd.DataFrame:
    """An orders table as read from a text file: `n` orders O0.. of customers C0.. (one each), each of `revenue`,
    dated from 2023-01-`first_day` one day apart (after 28 orders the days start again)."""
    return pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(n)],
            "customer_id": [f"C{i}" for i in range(n)],
            "ordered_at": [f"2023-01-{i % 28 + first_day:02d}" for i in range(n)],
            "revenue": [revenue] * n,
        }
    )


def two_orders_a_day(tickets_until: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small company's orders and tickets as read from text files: two orders a day over 2022-2023 (1,460, of
    customers C0..C39, `O<day>-<k>` at 10:00 and 11:00, 25.00 each) and a ticket a day (T0.., 30 minutes of
    effort, 09:00) until `tickets_until` (a day of 2022-2023: before the orders' end, an export that stopped)."""
    days = pd.date_range("2022-01-01", "2023-12-31", freq="D")
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}-{k}" for i in range(len(days)) for k in range(2)],
            "customer_id": [f"C{(i + k) % 40}" for i in range(len(days)) for k in range(2)],
            "ordered_at": [f"{d.date()} 1{k}:00" for d in days for k in range(2)],
            "revenue": "25.00",
        }
    )
    ticket_days = days[days <= tickets_until]
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(len(ticket_days))],
            "customer_id": [f"C{i % 40}" for i in range(len(ticket_days))],
            "opened_at": [f"{d.date()} 09:00" for d in ticket_days],
            "effort_minutes": "30",
        }
    )
    return orders, tickets


#: A cell an unexpected error quotes (`fail_parsing_revenue`): it must never reach a message.
PLANTED = "Ann Smith <ann.smith@example.com>"


def fail_parsing_revenue(monkeypatch: Any) -> None:
    """The validation's column parser raises, on the `revenue` column, an unexpected error quoting its first cell
    (pandas' `could not convert string to float: '...'`); the other columns are parsed as usual."""
    import features.column_checks as column_checks

    parse = column_checks._parse_column

    def fails_on_revenue(col, s, *args):
        if col.name == "revenue":
            raise ValueError(f"could not convert string to float: {s.iloc[0]!r}")
        return parse(col, s, *args)

    monkeypatch.setattr(column_checks, "_parse_column", fails_on_revenue)


def csv_data(tmp_path: Path, **tables: pd.DataFrame) -> Path:
    """A data directory `tmp_path / "data"` holding each table as `<name>.csv` (no index)."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name, frame in tables.items():
        frame.to_csv(data / f"{name}.csv", index=False)
    return data


def quiet(width: int | None = 120) -> Console:
    """A console that records what a job prints (read it with `console.file.getvalue()`), `width` columns wide
    (None: rich's default)."""
    return Console(file=io.StringIO(), width=width)


def cvp(*args: object, **kwargs: Any) -> Any:
    """`cvp <args>` run in this process by typer's test runner (arguments as text); its `Result`."""
    from typer.testing import CliRunner

    from pipelines.cli import app

    return CliRunner().invoke(app, [str(a) for a in args], **kwargs)


def scores_manifest(out: Path) -> dict[str, Any]:
    """The manifest `cvp score` published beside the scores file `out` (`pipelines.outputs.output_paths`)."""
    from pipelines.outputs import output_paths

    return json.loads(output_paths(Path(out))["manifest"].read_text())


def as_published(out: Path) -> None:
    """The manifest of the set at `out` given its files' digests as they are now, as the `cvp score` that wrote
    them so would have recorded them (`pipelines.outputs.DIGESTS`): a test standing for another run's bytes."""
    from pipelines.outputs import DIGESTS, output_paths, set_digests

    paths = output_paths(Path(out))
    manifest = json.loads(paths["manifest"].read_text())
    manifest[DIGESTS] = set_digests(paths)
    paths["manifest"].write_text(json.dumps(manifest))


def config_file(tmp_path: Path, text: str) -> Path:
    """`text` (YAML, the user's config) written as `tmp_path / "c.yaml"`."""
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def nothing_secret(res: Any, root: Path, secret: str) -> None:
    """`secret` is in neither the command's stdout nor its stderr, nor in any file under `root`."""
    assert secret not in res.stdout and secret not in res.stderr, res.output
    for path in root.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


def keep_mlflow_uris(monkeypatch: Any) -> None:
    """This process's MLflow tracking and registry URIs (module state and variables) put back after the test
    (`mlflow.set_registry_uri` of the old value would pin the registry for the tests that follow)."""
    import mlflow.tracking._model_registry.utils as registry
    import mlflow.tracking._tracking_service.utils as tracking

    monkeypatch.setattr(registry, "_registry_uri", registry._registry_uri)
    monkeypatch.setattr(tracking, "_tracking_uri", tracking._tracking_uri)
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.delenv(name, raising=False)


def as_if_cpus(monkeypatch: Any, cpus: set[int]) -> None:
    """The process may use `cpus` (`os.sched_getaffinity`), with no OMP_NUM_THREADS to say otherwise."""
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: cpus, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


def parquet_writes(monkeypatch: Any, cpus: set[int]) -> list[str]:
    """`as_if_cpus`, then every Parquet row-group write recorded: the list fills with the name of the thread that
    made each write."""
    as_if_cpus(monkeypatch, cpus)
    seen: list[str] = []

    def spy(self, table, *args, **kwargs):
        seen.append(threading.current_thread().name)
        return WRITE_TABLE(self, table, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", spy)
    return seen


def listed_as_of(monkeypatch: Any, cfg: Any, rows: list[Any], width: int = 80) -> tuple[dict[str, str], str]:
    """`cvp models`' table of registry rows `rows` (`pipelines.registry.VersionRow`, `list_versions` replaced):
    the as-of column of versions 2 and 3 (marked `*` when not like for like) and the whole printed text."""
    import pipelines.registry as registry

    monkeypatch.setattr(registry, "list_versions", lambda config, uri, say=None: (cfg, rows))
    console = quiet(width=width)
    registry.run_models(None, None, console)
    out = console.file.getvalue()
    picked = [line.split() for line in out.splitlines() if line.split()[:1] in (["2"], ["3"])]
    return {words[0]: words[2] for words in picked}, out


def trained_params(trained: Any) -> dict[str, str]:
    """The params of the `trained` fixture's one training run, read from its store (read only)."""
    import contextlib
    import sqlite3

    db = sqlite3.connect(f"file:{trained.mlruns / 'mlflow.db'}?mode=ro", uri=True)
    with contextlib.closing(db):
        return dict(db.execute("SELECT key, value FROM params").fetchall())


class MaskedRows:
    """`pipelines.engines.spark_stops.TableRows` without a session: a table's columns as read (`frame`) and the
    bits of the executors' row step's masks (`out`: a batch of `spark_input.check_rows`)."""

    def __init__(self, frame: pd.DataFrame, out: pd.DataFrame | None = None) -> None:
        self.frame, self.out = frame, out

    def raw(self, column: str) -> pd.Series:
        return pd.Series(self.frame[column].to_numpy(dtype=object), name=column)

    def bits(self, mask: str, i: int) -> pd.Series:
        assert self.out is not None
        return pd.Series(((self.out[mask].to_numpy() >> i) & 1).astype(bool))


class ReasonRows:
    """`pipelines.engines.spark_stops.TableRows` without a session, for the stops judged from the reasons: each
    row's reject reason (`reasons`, None: accepted) and the parsed table (`frame`)."""

    def __init__(self, frame: pd.DataFrame, reasons: list[str | None]) -> None:
        from pipelines.engines.spark_checks import REASON

        self.frame, self.rows = frame, pd.DataFrame({REASON: reasons})

    def parsed(self) -> pd.DataFrame:
        return self.frame


def reasons_stats(table: str, names: list[str], reasons: list[str | None]) -> pd.DataFrame:
    """The Spark engine's one aggregation (`spark_stats.column_stats`) of a table whose rows have these reject
    `reasons`: a row per reason with its count, every cell of the columns `names` given."""
    from pipelines.engines.spark_checks import REASON, TABLE

    counts = pd.Series(reasons, dtype=object).value_counts(dropna=False)
    given = {f"g{j}": counts.to_numpy() for j in range(len(names))}
    return pd.DataFrame({TABLE: table, REASON: counts.index, "n": counts.to_numpy(), **given})


def orders_stats(names: list[str], n: int, **sums: int) -> pd.DataFrame:
    """The orders' row of the Spark engine's one aggregation (`spark_stats.column_stats`): `n` rows, every cell of
    the columns `names` given, and the mask sums `sums` (`C3`: column 3's `CALENDAR` bits)."""
    from pipelines.engines.spark_checks import TABLE

    given = {f"g{j}": [n] for j in range(len(names))}
    return pd.DataFrame({TABLE: ["orders"], "n": [n], **given, **{k: [v] for k, v in sums.items()}})


def second_version(trained, tmp_path, monkeypatch):
    """A copy of the `trained` fixture's registry with version 2 registered from version 1's files (the same
    model, challenger-less): the seam rounds' second registered version; returns (config, client)."""
    import mlflow

    from pipelines.tracking_store import configure_tracking
    from tests.pipelines.conftest import clone_registry

    keep_mlflow_uris(monkeypatch)
    config = clone_registry(trained, tmp_path)
    configure_tracking(tmp_path / "mlruns")
    client = mlflow.MlflowClient()
    v1 = client.get_model_version("customer-value", "1")
    client.create_model_version("customer-value", v1.source, run_id=v1.run_id)
    return config, client
