"""What `cvp train` and `cvp backtest` say of training data whose export stopped (`pipelines.data_age.stopped_inputs`,
the one rule `cvp score` applies): warned, named in the MLflow run (`stopped_param`) and kept in the model's warnings
that every scoring with it repeats (`CustomerValueModel.data_warnings_`): `keep_stops`, the one call of `cvp train`.
The promotion rule does not hold such a model back (was, round 25 b: `held_back`): judged on a
`--sample-customers` sample the stop escaped it, and a table that really ended (a product line closed) would
have held every later model back for good with no way out but `--promote`, which overrides the backtest's rule
too. The warning travels with the model instead: on its run, its card and every scoring's console and pages.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape

from pipelines.config import AppConfig


def stopped_in_training(
    tables: dict[str, pd.DataFrame],
    as_of: pd.Timestamp,
    cfg: AppConfig,
    console: Console,
    what: str = "train",
) -> list[str]:
    """`pipelines.data_age.stopped_inputs` of the training data (a sample's: its own rows per table), warned
    (was, round 25: only `cvp score` asked; `cvp train` on orders without a cost from July on learned the guessed
    margins of its latest cutoffs' features and labels without a word)."""
    from pipelines.data_age import stopped_inputs

    def warn(note: str) -> None:
        console.print(f"[bold yellow]warning:[/] {escape(note)}")

    rows = {n: len(t) for n, t in tables.items()}
    limit = cfg.scoring.stopped_table_rows
    return stopped_inputs(tables, as_of, rows, cfg.labels, limit, warn, what=what)


def stopped_param(stopped: list[str]) -> dict[str, str]:
    """The MLflow param naming the `table.column`s whose export stopped (no value of a row); "none" without (a
    run that checked and found none, told from one trained before the check)."""
    from pipelines.data_age import stopped_names

    return {"stopped_inputs": ",".join(stopped_names(stopped)) or "none"}


def keep_stops(
    bundle: Any, tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, cfg: AppConfig, console: Console
) -> dict[str, str]:
    """`cvp train`'s whole wiring: the training data's stops warned (`stopped_in_training`), kept as the fitted
    model's `data_warnings_` (every scoring with it says them again) and returned as the run's param
    (`stopped_param`). Call it after the fit's own warnings are printed: each is said once."""
    bundle.data_warnings_ = stopped_in_training(tables, as_of, cfg, console)
    return stopped_param(bundle.data_warnings_)
