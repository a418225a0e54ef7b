"""The train/score seam: a scoring run the model cannot honestly serve stops with a message (shared `trained`
fixture; the test stops before any feature is built)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from features.validation import StructuralError
from tests.pipelines.score_helpers import score_trained


def test_an_as_of_before_the_models_latest_training_cutoff_is_refused(trained, tmp_path):
    out = tmp_path / "s.parquet"
    with pytest.raises(StructuralError, match=r"before the model's latest training cutoff \((\S+)\)") as err:
        # was: scored, by a model that had learnt from what these customers did after the as-of
        score_trained(trained, out, as_of_text="2022-06-01")
    cutoff = pd.Timestamp(re.search(r"cutoff \((\S+)\)", str(err.value)).group(1))
    assert pd.Timestamp("2022-06-01") < cutoff < pd.Timestamp(trained.as_of)
    assert not out.exists()


def _config_with(trained, tmp_path, **data):
    import yaml

    cfg = yaml.safe_load(trained.config.read_text())
    cfg["data"] = cfg.get("data", {}) | data
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_data_in_another_currency_than_the_models_is_refused(trained, tmp_path):
    """The model records the currency and time zone of its training data; amounts in another currency cannot be
    scored by it (was: scored without a word, even with --strict)."""
    out = tmp_path / "s.parquet"
    with pytest.raises(StructuralError, match=r"trained on amounts in EUR, this run's data is in USD"):
        score_trained(trained, out, config=_config_with(trained, tmp_path, currency="USD"))
    assert not out.exists()


def test_another_time_zone_is_a_difference_strict_refuses(trained, tmp_path):
    with pytest.raises(StructuralError, match=r"data.timezone: model UTC, config Europe/Berlin"):
        score_trained(
            trained,
            tmp_path / "s.parquet",
            config=_config_with(trained, tmp_path, timezone="Europe/Berlin"),
            strict=True,
        )
