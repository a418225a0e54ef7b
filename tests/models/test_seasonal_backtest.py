"""The seasonal features recover the demo company's Q4 peak (pipelines/demo: order intensity 1 + 0.35 cos, peak
early December): on a fold whose 90-day horizon runs into the peak, the predicted total is much nearer the actual
one with them than without them (the model without them carries the quieter trailing months forward)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.training import build_training_set
from models.backtest import evaluation_rows
from models.bundle import CustomerValueModel
from models.feature_contract import feature_columns
from pipelines.demo import generate_company
from tests.settings import defaults, override

H = 90
FOLD = pd.Timestamp("2025-10-01")  # horizon [2025-10-01, 2025-12-30): into the December peak
_LGB = defaults().models.lightgbm.model_dump()
FAST = override(
    "models",
    lightgbm={**_LGB, "n_jobs": 1, "n_estimators": 80, "learning_rate": 0.1},
    churn_lightgbm={**_LGB, "n_jobs": 1, "n_estimators": 20, "learning_rate": 0.1, "num_leaves": 7},
)


def test_seasonal_features_bring_a_peak_folds_total_near_the_actual() -> None:
    tables = generate_company(1500, "2021-01-01", "2025-12-31", 7).tables
    features = defaults().features
    labels = override("labels", horizon_days=H, n_cutoffs=12, cutoff_step_months=1)
    train = build_training_set(tables, FOLD, H, features, labels)
    evaluation = evaluation_rows(tables, FOLD, H, features, labels)
    actual = evaluation[f"label_net_profit_{H}d"].sum()

    def bias(drop: list[str]) -> float:
        model = CustomerValueModel(H, FAST).fit(train.drop(columns=drop))
        cols = [c for c in feature_columns(evaluation) if c not in drop]
        return float(model.predict(evaluation[cols])[f"pred_value_{H}d"].sum() / actual)

    seasonal = [c for c in train.columns if c.startswith("season_")]
    with_season, without = bias([]), bias(seasonal)
    assert abs(np.log(with_season)) < abs(np.log(without)) - 0.1
    assert 0.8 <= with_season <= 1.2
