"""Issue 14: the churn booster is predicted once per row (raw score), its probability derived from it bit for bit."""

from __future__ import annotations

import math

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

import models.bundle as bundle_module
from models.bundle import CustomerValueModel
from tests.models.test_bundle import FAST, H, feature_table, training_set
from tests.settings import override

ROWS = 3000  # above the 1,024 rows checked against LightGBM's own probability


@pytest.fixture(scope="module")
def model() -> CustomerValueModel:
    return CustomerValueModel(H, override("models", lightgbm=FAST, churn_lightgbm=FAST)).fit(training_set())


def _before(model: CustomerValueModel, ft) -> np.ndarray:
    """The churn column as computed before: LightGBM's probability, calibrated."""
    return model.churn_model_._proba_t(model.contract_.apply(ft))[:, 1]


def test_predict_gives_the_same_bits_from_the_churn_raw_score(model, monkeypatch):
    ft = feature_table(n=ROWS)
    given: list[np.ndarray] = []
    from_raw = CustomerValueModel.predict_from_raw

    def spy(self, feature_table, Xt, value_raw, churn_raw):
        given.append(churn_raw)
        return from_raw(self, feature_table, Xt, value_raw, churn_raw)

    monkeypatch.setattr(CustomerValueModel, "predict_from_raw", spy)
    preds = model.predict(ft)
    churn = preds[f"pred_churn_prob_{H}d"].to_numpy()
    assert np.array_equal(churn, _before(model, ft))
    booster = model.churn_model_.booster_
    Xt = model.contract_.apply(ft)
    assert np.array_equal(given[0], booster.predict(Xt, raw_score=True))
    assert from_raw(model, ft, Xt, None, given[0]).equals(preds)


def test_the_churn_booster_predicts_each_row_once(model, monkeypatch):
    rows: list[tuple[int, bool]] = []
    original = lgb.Booster.predict

    def spy(self, data, *args, **kwargs):
        rows.append((len(data), self is model.churn_model_.booster_))
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(lgb.Booster, "predict", spy)
    model.predict(feature_table(n=ROWS))
    churn_rows = sum(n for n, churn in rows if churn)
    assert churn_rows == ROWS + bundle_module._PROBABILITY_CHECK_ROWS  # was 2 x ROWS (probability, then raw)


def test_another_exp_falls_back_to_lightgbms_probability(model, monkeypatch):
    ft = feature_table(n=ROWS)
    exp = math.exp
    monkeypatch.setattr(bundle_module.math, "exp", lambda x: exp(x) * (1 + 1e-15))  # off in the last bits
    preds = model.predict(ft)
    assert np.array_equal(preds[f"pred_churn_prob_{H}d"].to_numpy(), _before(model, ft))


def test_predict_from_the_explainers_raw_scores_gives_the_same_bits(model, monkeypatch):
    """Issue 14: scoring builds the predictions from the raw scores of the TreeSHAP pass; every column keeps the
    bits of `predict`, and neither booster predicts more than the checked head of rows."""
    from models.explain import _RAW_CHECK_ROWS, explain_with_raw

    ft = feature_table(n=ROWS)
    expected = model.predict(ft)
    Xt = model.contract_.apply(ft)
    boosters = model.explainable_boosters()
    assert set(boosters) == {"value", "churn"}
    rows: list[int] = []
    original = lgb.Booster.predict

    def spy(self, data, *args, **kwargs):
        rows.append(len(data))
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(lgb.Booster, "predict", spy)
    _, value_raw = explain_with_raw(boosters["value"], Xt, 0)
    _, churn_raw = explain_with_raw(boosters["churn"], Xt, 0)
    preds = model.predict_from_raw(ft, Xt, value_raw, churn_raw)
    assert rows == [_RAW_CHECK_ROWS, _RAW_CHECK_ROWS, bundle_module._PROBABILITY_CHECK_ROWS]
    pd.testing.assert_frame_equal(preds, expected, check_exact=True)
