"""What every benchmark of `bench/` shares: where it works and how it reports the machine's load."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def work_dir(cache: Path | None, prefix: str) -> Iterator[Path]:
    """`cache` (created, kept and reused) when the user passes one, else a fresh temporary directory removed at the
    end, so a figure never comes from data or a model left by older code."""
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        yield cache
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def load_text() -> str:
    """The 1, 5 and 15 minute load averages, printed beside every figure (absolute times drift with the load)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


#: Fast training for the benchmarks that need a model, not a good one: few cutoffs and one backtest fold; the
#: models themselves keep the 300-tree defaults.
FAST_TRAINING = {"labels": {"n_cutoffs": 3, "cutoff_step_months": 2}, "models": {"backtest_folds": 1}}


def train_champion(data: Path, root: Path, as_of: str) -> Path:
    """Train on the company in `data` as of `as_of` with FAST_TRAINING into `root/mlruns` and promote the model
    champion whatever its backtest (`cvp train --promote`, in this private mlruns only: a small company's model may
    miss the gates, stay challenger, and the scoring would find no champion). Returns the config file to score with.
    """
    import pandas as pd
    import yaml
    from rich.console import Console

    from pipelines.config import load_config
    from pipelines.io import load_data
    from pipelines.train import train_and_register

    root.mkdir(parents=True, exist_ok=True)
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump(FAST_TRAINING | {"mlflow": {"tracking_dir": str(root / "mlruns")}}))
    cfg = load_config(config)
    tables = load_data(data, None, cfg.data.timezone).tables
    train_and_register(tables, cfg, pd.Timestamp(as_of), Console(quiet=True), promote=True)
    return config
