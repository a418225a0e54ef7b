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
        and run.manifest["settings_used"]["data"]["timezone"] == "UTC"
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


def test_a_run_with_tighter_sanity_bounds_accepts_the_rows_training_accepted(
    trained, default_scores, tmp_path
):
    """A run configured with `data.max_values.orders.revenue` below the largest orders the model was trained on:
    the model's bounds are imposed (a difference printed and recorded; `--strict` refuses naming both), so its
    customers keep their large orders and their scores; `cvp report` with that configuration reads the data as
    the run did (was: those orders rejected `revenue above the configured maximum`, exit 0: the largest customers
    scored without their largest orders; `--strict` did not see the difference)."""
    import pytest

    from features.validation import StructuralError

    revenue = pd.read_parquet(trained.data / "orders.parquet")["revenue"]
    bound = float(revenue.quantile(0.98))
    tight = tmp_path / "tight.yaml"
    settings = yaml.safe_load(trained.config.read_text())
    data = settings.get("data") or {}
    settings["data"] = data | {"max_values": (data.get("max_values") or {}) | {"orders.revenue": bound}}
    tight.write_text(yaml.safe_dump(settings))

    base = default_scores.run  # the fixture's data and config, as of 2025-01-01: scored once per session
    run = score_trained(trained, tmp_path / "tight" / "s.parquet", config=tight)
    assert run.manifest["rows"]["orders"]["rejected"] == base.manifest["rows"]["orders"]["rejected"] == 0
    said = [d for d in run.manifest["settings_differences"] if d.startswith("data.max_values")]
    assert len(said) == 1 and f"'orders.revenue': {bound}" in said[0], said
    columns = ["customer_id", "status", "tier", *(c for c in base.scores.columns if c.startswith("pred_"))]
    pd.testing.assert_frame_equal(base.scores[columns], run.scores[columns])
    with pytest.raises(StructuralError, match=r"data\.max_values: model .*orders\.revenue"):
        score_trained(trained, tmp_path / "strict" / "s.parquet", config=tight, strict=True)

    out = tmp_path / "pages"
    args = ["report", "--scores", str(tmp_path / "tight" / "s.parquet"), "--out", str(out)]
    res = CliRunner().invoke(app, [*args, "--data", str(trained.data), "--config", str(tight)])
    assert res.exit_code == 0, res.output


def test_a_mapping_difference_says_the_run_reads_through_its_own(trained):
    """A model trained through a mapping, scored without one (or through another): the model cannot impose its
    mapping (it holds its digest), and the difference says the data is read through the run's mapping (was: listed
    under "the model's settings are used", as if the model's mapping had read the data)."""
    from pipelines.config import load_config
    from pipelines.engines.scoring import resolve_settings
    from pipelines.tracking import load_bundle
    from pipelines.tracking_store import configure_tracking

    cfg = load_config(trained.config)
    configure_tracking(Path(cfg.mlflow.tracking_dir))
    bundle = load_bundle("models:/customer-value@champion").bundle
    bundle.mapping_digest = "ab" * 32  # as if trained through a mapping
    _, diffs, _ = resolve_settings(bundle, cfg, None, strict=False)
    assert diffs == [
        "mapping (sha256): model abababababab, run none (not imposed: the data is read through the run's "
        "mapping, or none; give the model's mapping, or --strict refuses)"
    ]
