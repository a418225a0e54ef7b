"""The scores file of the other format beside an output set (`scores.parquet` beside `--out scores.csv`, and
back): whether it is the replaced set's own (`scores_of`), judged by `pipelines.outputs.publish` under the set's
lock (`staging.decided_under_lock`, `staging.earlier_twin` over `twin_paths`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines import staging


def scores_of(other: Path, manifest: Mapping[str, Any]) -> bool:
    """Whether the scores file `other` is the one of the run `manifest` describes: every row's `run_id` is its."""
    run_id = manifest.get("run_id")
    if not run_id or "run_id" not in staging.table_columns(other):
        return False
    if other.suffix == ".csv":
        ids = pd.read_csv(other, usecols=["run_id"], dtype=str, keep_default_na=False)["run_id"]
    else:
        ids = pd.read_parquet(other, columns=["run_id"])["run_id"]
    return len(ids) > 0 and bool((ids.astype(str) == str(run_id)).all())


def twin_paths(targets: Mapping[str, Path]) -> tuple[Path, Path]:
    """(the scores file, the manifest) of a set: what `staging.earlier_twin` looks beside and reads."""
    return targets["scores"], targets["manifest"]
