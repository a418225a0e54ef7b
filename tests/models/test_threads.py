"""Prediction threads (`models.threads`): read from the process, passed to every LightGBM predict, no effect on numbers."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from models import treeshap
from models.bundle import CustomerValueModel
from models.explain import explain_booster
from models.threads import prediction_threads
from tests.models.test_bundle import FAST, H, feature_table, training_set
from tests.settings import override

FOUR_CPUS = {0, 1, 2, 3}


@pytest.fixture(scope="module")
def model() -> CustomerValueModel:
    return CustomerValueModel(H, override("models", lightgbm=FAST, churn_lightgbm=FAST)).fit(training_set())


@pytest.fixture
def four_cpus(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: FOUR_CPUS, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


@pytest.mark.parametrize(
    ("omp", "expected"),
    [(None, 4), ("1", 1), ("3", 3), ("16", 4), ("2,1", 2), ("0", 4), ("", 4), ("many", 4)],
)
def test_threads_are_the_affinity_at_most_omp_num_threads(four_cpus, monkeypatch, omp, expected):
    if omp is not None:
        monkeypatch.setenv("OMP_NUM_THREADS", omp)
    assert prediction_threads() == expected


def test_the_explainer_follows_omp_num_threads(four_cpus, monkeypatch):
    # A Spark Python worker gets OMP_NUM_THREADS=spark.task.cpus (1): it must not start a thread per core.
    assert treeshap._n_threads() == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert treeshap._n_threads() == 1


def test_every_lightgbm_predict_of_scoring_gets_the_process_threads(model, four_cpus, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    seen: list[object] = []
    original = lgb.Booster.predict

    def spy(self, data, *args, **kwargs):
        seen.append(kwargs.get("num_threads"))
        return original(self, data, *args, **kwargs)

    monkeypatch.setattr(lgb.Booster, "predict", spy)
    ft = feature_table(n=200)
    model.predict(ft)
    Xt = model.contract_.apply(ft)
    for booster in model.explainable_boosters().values():
        explain_booster(booster, Xt, expected_check_rows=5)  # additivity predict + pred_contrib spot check
    assert len(seen) >= 4
    assert seen == [1] * len(seen)


def test_predictions_and_contributions_do_not_depend_on_threads(model, monkeypatch):
    ft = feature_table(n=3000)  # enough rows for the explainer to split them over threads
    Xt = model.contract_.apply(ft)

    def run(threads: str):
        monkeypatch.setenv("OMP_NUM_THREADS", threads)
        preds = model.predict(ft).to_numpy()
        contribs = [explain_booster(b, Xt, 50).to_numpy() for b in model.explainable_boosters().values()]
        return preds, contribs

    one, many = run("1"), run("8")
    assert np.array_equal(one[0], many[0])
    for a, b in zip(one[1], many[1], strict=True):
        assert np.array_equal(a, b)
