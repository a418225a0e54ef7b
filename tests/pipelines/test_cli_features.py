"""`cvp features` on the demo company and on Online Retail: every column is documented in the registry."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from features import feature_registry
from features.registry import GROUPS
from pipelines.cli import app
from tests.settings import defaults
from tests.shared_data import online_retail_dir

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _check(out: Path) -> dict:
    table = pd.read_parquet(out)
    registry = feature_registry(defaults().features)
    undocumented = [c for c in table.columns if c not in registry]
    assert not undocumented, undocumented
    assert table.index.is_unique and len(table) > 0
    manifest = json.loads(out.with_suffix(".manifest.json").read_text())
    assert set(manifest["features"]) == set(table.columns)
    return manifest


def test_features_on_demo_company(trained, tmp_path):
    out = tmp_path / "f.parquet"
    res = runner.invoke(
        app, ["features", "--data", str(trained.data), "--as-of", "2024-03-01", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    manifest = _check(out)
    assert set(manifest["groups_present"]) == set(GROUPS)  # the demo company has every table


def test_features_on_online_retail(tmp_path):
    retail = online_retail_dir()
    out = tmp_path / "f.parquet"
    mapping = ROOT / "configs" / "datasets" / "online_retail.yaml"
    res = runner.invoke(
        app,
        [
            "features",
            "--data",
            str(retail),
            "--mapping",
            str(mapping),
            "--as-of",
            "2011-09-01",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    manifest = _check(out)
    assert set(manifest["groups_absent"]) == {"service_effort", "referral", "payment", "relationship"}
    # the console says the groups in words (the model card's `group_label`), the raw name beside them where it is
    # spelled otherwise (was: "absent groups: service_effort (no tickets table); ...", raw names only)
    said = " ".join(res.output.split())
    assert "absent groups: Service effort (service_effort): " in said, said
    assert "Price sensitivity (price_sensitivity)" in said, said
    assert "absent groups: service_effort" not in said, said


def test_as_of_before_the_data_is_a_clear_error(trained, tmp_path):
    res = runner.invoke(
        app,
        [
            "features",
            "--data",
            str(trained.data),
            "--as-of",
            "2001-01-01",
            "--out",
            str(tmp_path / "f.parquet"),
        ],
    )
    assert res.exit_code == 2
    assert "not after the first order" in res.output
