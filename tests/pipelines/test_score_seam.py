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
