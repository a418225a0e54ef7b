"""What `cvp train` and `cvp backtest` say of training data whose export stopped (`pipelines.data_age.stopped_inputs`,
the one rule `cvp score` applies): warned, named in the MLflow run (`stopped_param`) and kept in the model's warnings
that every scoring with it repeats (`CustomerValueModel.data_warnings_`): `keep_stops`, the one call of `cvp train`.
The promotion rule does not hold such a model back (was, round 25 b: `held_back`): judged on a
`--sample-customers` sample the stop escaped it, and a table that really ended (a product line closed) would
have held every later model back for good with no way out but `--promote`, which overrides the backtest's rule
too. The warning travels with the model instead: on its run, its card and every scoring's console and pages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd
from rich.console import Console
from rich.markup import escape

from pipelines.config import AppConfig

if TYPE_CHECKING:
    from pipelines.sampling import TrainingSample


def stopped_in_training(
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    cfg: AppConfig,
    console: Console,
    what: str = "train",
    sample: TrainingSample | None = None,
) -> list[str]:
    """`pipelines.data_age.stopped_inputs` of the training data, warned (was, round 25: only `cvp score` asked;
    `cvp train` on orders without a cost from July on learned the guessed margins of its latest cutoffs' features
    and labels without a word). With a `--sample-customers` `sample`: the whole base's, judged at load before
    sampling (`TrainingSample.stopped`: `export_stops`), said here (was, round 25 b: the sample's rows, whose
    expected counts shrank under `scoring.stopped_table_rows`: the demo's returns cut after 2025-02-25 warned on
    the whole base, not on a sample of 80; a sample of 5 missed an emptied `orders.cost`)."""

    def warn(note: str) -> None:
        console.print(f"[bold yellow]warning:[/] {escape(note)}")

    if sample is not None and sample.stopped is not None:
        for note in sample.stopped:
            warn(note)
        return list(sample.stopped)
    return export_stops(tables, as_of, cfg, what, warn)


def export_stops(
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    cfg: AppConfig,
    what: str = "train",
    warn: Callable[[str], None] | None = None,
) -> list[str]:
    """`pipelines.data_age.stopped_inputs` of `tables` (each table's rows its own count), said through `warn`
    (none: judged quietly, said later by `stopped_in_training`): of the whole base, before a sample is drawn (the
    pandas engine's tables; the Spark engine's sample with the whole base's per-day counts as `filled_days`,
    summed on the executors: `spark_training.filled_days_spark`)."""
    from pipelines.data_age import stopped_inputs

    # the Spark driver's tables count their accepted rows (`SparkTables.rows`: of tickets it keeps the ids only)
    rows = getattr(tables, "rows", None) or {n: len(t) for n, t in tables.items()}
    limit = cfg.scoring.stopped_table_rows
    said = warn or (lambda _: None)
    return stopped_inputs(tables, as_of, rows, cfg.labels, limit, said, what=what)


def stopped_param(stopped: list[str]) -> dict[str, str]:
    """The MLflow param naming the `table.column`s whose export stopped (no value of a row); "none" without (a
    run that checked and found none, told from one trained before the check)."""
    from pipelines.data_age import stopped_names

    return {"stopped_inputs": ",".join(stopped_names(stopped)) or "none"}


def keep_stops(
    bundle: Any,
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    cfg: AppConfig,
    console: Console,
    sample: TrainingSample | None = None,
) -> dict[str, str]:
    """`cvp train`'s whole wiring: the training data's stops warned (`stopped_in_training`), kept as the fitted
    model's `data_warnings_` (every scoring with it says them again) and returned as the run's param
    (`stopped_param`). Call it after the fit's own warnings are printed: each is said once."""
    bundle.data_warnings_ = stopped_in_training(tables, as_of, cfg, console, sample=sample)
    return stopped_param(bundle.data_warnings_)
