"""The scores file of a scoring run's staged output set (`pipelines.engines.run.run_score` writes the rest).

`write_staged_scores` checks the scores against `pipelines.outputs.SCORES_SCHEMA` and writes them in the form the
`--out` asks for: a Parquet directory of parts (the Spark engine, `--out` without a suffix), a CSV file whose
reasons are sentences (read by people: `models.reason_text`), or a Parquet file whose reason columns, when the run
spilled them (`pipelines.engines.spill.ReasonSpill`), come back one row group at a time (issue 14).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from models.reason_text import with_reason_sentences


def write_staged_scores(
    engine: str,
    out: Path,
    scores: pd.DataFrame,
    target: Path,
    spill: Any,
    prediction_columns: list[str],
    currency: str,
    timings: dict[str, float],
) -> int:
    """Write `scores` to `target` (the staged scores file of `--out` `out`); `spill` the run's `ReasonSpill` or
    None, `prediction_columns` the model's (the reasons follow the last), `currency` the reasons' for a CSV.
    Returns the position the spilled reason columns are written at (0: none spilled); a write of spilled
    reasons records its seconds in `timings["write_scores_s"]`."""
    from pipelines.io import write_frame
    from pipelines.outputs import SCORES_SCHEMA, write_scores_parquet

    SCORES_SCHEMA.check_written(scores)
    reasons_at = 0
    if engine == "spark" and out.suffix not in (".parquet", ".csv"):
        from pipelines.engines.spark_parts import write_spark_output

        if spill is not None and spill.columns:  # the executors' reason parts (issue 11)
            spill.locate(scores["customer_id"])
            reasons_at = scores.columns.get_loc(prediction_columns[-1]) + 1
        write_spark_output(scores, target, spill, reasons_at)  # a Parquet directory
    elif out.suffix == ".csv":  # read by people: the reasons as sentences (models.reason_text)
        write_frame(with_reason_sentences(scores, currency), target)
    elif spill is None or not spill.columns:
        write_scores_parquet(scores, target)
    else:  # the reason columns come back from the spill, one row group at a time (issue 14)
        t_write = time.perf_counter()
        spill.locate(scores["customer_id"])
        reasons_at = scores.columns.get_loc(prediction_columns[-1]) + 1
        write_scores_parquet(scores, target, extra=spill.columns_for, extra_at=reasons_at)
        timings["write_scores_s"] = round(time.perf_counter() - t_write, 3)
    return reasons_at
