"""Short histories (issue 16): the horizon plus a few months of orders trains and scores, with fewer cutoffs,
features that do not assume a full year, and notes saying what could not be validated."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.seasonal import NO_SEASONAL_HISTORY
from features.table import build_feature_table_with_manifest
from features.training import build_training_set
from models.bundle import CustomerValueModel
from models.feature_contract import feature_columns
from pipelines.demo import generate_company
from tests.settings import defaults, override

_LGB = defaults().models.lightgbm.model_dump()
FAST = override(
    "models",
    lightgbm={**_LGB, "n_jobs": 1, "n_estimators": 30, "learning_rate": 0.1, "min_child_samples": 20},
    churn_lightgbm={**_LGB, "n_jobs": 1, "n_estimators": 30, "learning_rate": 0.1, "num_leaves": 7},
)
AS_OF = pd.Timestamp("2025-01-01")


@pytest.mark.parametrize(("start", "horizon"), [("2024-01-01", 181), ("2024-04-01", 90)])
def test_short_history_trains_scores_and_says_what_was_not_validated(start: str, horizon: int) -> None:
    tables = generate_company(500, start, "2024-12-31", 5).tables
    labels = override("labels", horizon_days=horizon)
    features = defaults().features
    training = build_training_set(tables, AS_OF, horizon, features, labels)
    # Fewer cutoffs than configured: only those with customers before them and a whole horizon after.
    assert 2 <= training["cutoff"].nunique() < labels.n_cutoffs
    assert (training["cutoff"] + pd.Timedelta(days=horizon) <= AS_OF).all()
    # Under a year of history: the seasonal columns are missing, never a zero that looks like a quiet season.
    season = [
        c for c in training.columns if c.startswith(("season_company_index_", "season_revenue_last_year_"))
    ]
    assert season and training[season].isna().all().all()

    model = CustomerValueModel(horizon, FAST, features, labels).fit(training)
    table, _ = build_feature_table_with_manifest(tables, AS_OF, features)
    out = model.predict(table[feature_columns(table.reset_index())])
    assert len(out) == len(table) and np.isfinite(out.to_numpy(dtype=float)).all()
    # The feature manifest of the training cutoffs says the totals were extrapolated without a seasonal history.
    _, manifest = build_feature_table_with_manifest(tables, training["cutoff"].max(), features)
    assert any(NO_SEASONAL_HISTORY in note for note in manifest.notes)
    if horizon == 181:
        # The cutoffs span less than one horizon: no embargo is possible, and the model says so.
        assert not model.value_model_.embargoed_
        assert any("history too short for an embargo" in note for note in model.notes_)
