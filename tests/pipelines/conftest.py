"""Shared fixtures for the job tests: a small demo company and a model trained on it in a temporary mlruns/."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from rich.console import Console

#: A fast configuration: small models, few cutoffs and folds. The jobs run exactly as in production.
FAST_CONFIG = {
    "labels": {"n_cutoffs": 4, "cutoff_step_months": 2},
    "models": {
        "lightgbm": {"n_estimators": 60, "num_leaves": 15, "min_child_samples": 20},
        "churn_lightgbm": {"n_estimators": 60, "num_leaves": 7, "min_child_samples": 50},
        "backtest_folds": 1,
    },
    "scoring": {"chunk_customers": 300},
}


@dataclass(frozen=True)
class TrainedEnv:
    root: Path
    data: Path
    config: Path
    mlruns: Path
    as_of: str


def quiet() -> Console:
    return Console(file=io.StringIO(), width=120)


@pytest.fixture
def console() -> Console:
    """A console that records what a job prints (read it with `console.file.getvalue()`)."""
    return quiet()


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for every Spark test of the run (a session costs 5-9 s to start).

    Without pyspark or Java the Spark tests FAIL (the Spark engine is a product feature, not an optional nicety);
    CVP_SKIP_SPARK=1 skips them on a machine without a JDK."""
    import os

    if os.environ.get("CVP_SKIP_SPARK") == "1":
        pytest.skip("CVP_SKIP_SPARK=1")
    from pipelines.engines.spark_session import SparkUnavailable, require_spark, spark_session

    try:
        require_spark()
    except SparkUnavailable as exc:
        pytest.fail(f"{exc} (set CVP_SKIP_SPARK=1 to skip the Spark tests)", pytrace=False)
    with spark_session("local[2]") as session:
        yield session


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> TrainedEnv:
    """800 customers over 2021-2024, a model trained as of 2024-07-01 and registered as champion."""
    from pipelines.config import load_config
    from pipelines.demo import generate_company, write_company
    from pipelines.io import load_data
    from pipelines.train import train_and_register

    root = tmp_path_factory.mktemp("trained")
    data = root / "data"
    write_company(generate_company(800, "2021-01-01", "2024-12-31", 11), data)
    cfg_dict = FAST_CONFIG | {"mlflow": {"tracking_dir": str(root / "mlruns")}}
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump(cfg_dict))
    cfg = load_config(config)
    loaded = load_data(data, None, cfg.data.timezone)
    import pandas as pd

    train_and_register(loaded.tables, cfg, pd.Timestamp("2024-07-01"), quiet())
    return TrainedEnv(root, data, config, root / "mlruns", "2024-07-01")
