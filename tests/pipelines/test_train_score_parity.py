"""Train/score parity: a setting that changes feature values between training and scoring is the model's, imposed
with a note (`pipelines.engines.scoring.resolve_settings`), or a refusal naming both values.

Each test failed on the code before the fix (the `was:` of each docstring)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import yaml
from typer.testing import CliRunner

from pipelines.cli import app
from tests.pipelines.score_helpers import score_trained


def _aware(trained, root: Path) -> Path:
    """The fixture's data with every timestamp written as a UTC instant (a tz-aware Parquet column)."""
    shutil.copytree(trained.data, root)
    for path in root.glob("*.parquet"):
        frame = pd.read_parquet(path)
        for col in frame.columns:
            if pd.api.types.is_datetime64_dtype(frame[col].dtype):
                frame[col] = frame[col].dt.tz_localize("UTC")
        frame.to_parquet(path)
    return root


def test_a_run_in_another_timezone_reads_the_data_in_the_models(trained, tmp_path):
    """The model was trained with `data.timezone: UTC`; a run configured for Asia/Tokyo on data whose timestamps
    carry their zone: the model's zone is imposed (its warning says so, the manifest records it) and the scores
    are those of a run in UTC; `cvp report` with the Tokyo configuration reads the data as the run did (was: every
    timestamp converted to Tokyo time, 9 hours later against the as-of and the windows, while the warning said
    the model's settings were used: other predictions and tiers)."""
    data = _aware(trained, tmp_path / "data")
    tokyo = tmp_path / "tokyo.yaml"
    settings = yaml.safe_load(trained.config.read_text())
    settings["data"] = (settings.get("data") or {}) | {"timezone": "Asia/Tokyo"}
    tokyo.write_text(yaml.safe_dump(settings))

    base = score_trained(trained, tmp_path / "utc" / "s.parquet", data=data)
    run = score_trained(trained, tmp_path / "tokyo" / "s.parquet", data=data, config=tokyo)
    said = run.manifest["settings_differences"]
    assert (
        "data.timezone: model UTC, config Asia/Tokyo" in said
        and run.manifest["settings_used"]["timezone"] == "UTC"
    )
    columns = ["customer_id", "status", "tier", *(c for c in base.scores.columns if c.startswith("pred_"))]
    pd.testing.assert_frame_equal(base.scores[columns], run.scores[columns])

    out = tmp_path / "pages"
    args = [
        "report",
        "--scores",
        str(tmp_path / "tokyo" / "s.parquet"),
        "--out",
        str(out),
        "--data",
        str(data),
    ]
    res = CliRunner().invoke(app, [*args, "--config", str(tokyo)])
    assert res.exit_code == 0, res.output
