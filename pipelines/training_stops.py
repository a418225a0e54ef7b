"""What `cvp train` and `cvp backtest` say of training data whose export stopped (`pipelines.data_age.stopped_inputs`,
the one rule `cvp score` applies): warned, named in the MLflow run (`stopped_param`), kept in the model's warnings
that every scoring with it repeats (`CustomerValueModel.data_warnings_`), and the model held back from the
promotion rule (`held_back`).
"""

from __future__ import annotations

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
    """The MLflow param naming the `table.column`s whose export stopped (no value of a row); none without."""
    from pipelines.data_age import stopped_names

    return {"stopped_inputs": ",".join(stopped_names(stopped))} if stopped else {}


def held_back(stopped: list[str], auto: bool, reason: str) -> tuple[bool, str]:
    """The promotion rule's decision, held back when an export of the training data stopped: the backtest's
    latest folds read the same missing rows or values, so its metrics cannot show what the model learned of
    them (a guessed margin, no ticket); `--promote` makes it champion all the same."""
    if not stopped:
        return auto, reason
    names = ", ".join(stopped_param(stopped).values())
    if not auto:
        return auto, f"{reason}; the export of {names} stopped before the as-of (warned above)"
    why = f"not promoted: the export of {names} stopped before the as-of (warned above; --promote makes it champion)"
    return False, f"{why}; the backtest alone: {reason}"
