"""Smoke test of `bench/objectives.py --smoke`: every value objective and both baselines, fold by fold.

A 300-customer demo company, 2 folds, boosters of at most 30 trees (the figures are not checked, the table is): the
printed table has one row per (fold, model) with every metric column, a finite top-20% capture and coverage for our
objectives, and the verdict counts every objective.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.background import objectives_smoke, take

ROOT = Path(__file__).resolve().parents[2]
OBJECTIVES = ("huber", "l2", "tweedie", "hurdle", "hurdle_lognormal")


@pytest.mark.slow
def test_objective_comparison_prints_every_objective_and_baseline_per_fold():
    # started in the background when the tests were collected (tests/background.py)
    code, out, err = take("objectives", objectives_smoke).wait(timeout=600)
    assert code == 0, err[-2000:]
    header = next(line for line in out.splitlines() if "top20" in line and "p10-p90" in line)
    for col in ("top20", "spearman", "gini", "auc_buys", "auc_buys_value", "mae", "pred/actual", "p10-p90"):
        assert col in header
    folds = re.findall(r"^(\d{4}-\d{2}) ", out, flags=re.M)
    assert len(folds) == 2  # the fold cutoff is printed once, on its first row
    for model in (*OBJECTIVES, "persistence", "btyd_no_purchase"):
        rows = [line for line in out.splitlines() if re.match(rf"^(\d{{4}}-\d{{2}})?\s+{model}\s", line)]
        assert len(rows) == 2, (model, rows)
        values = rows[0].split()[-8:]
        assert float(values[0]) == float(values[0])  # top-20% capture is a number, not NaN
        # every model, baselines included, has its own purchase probability: 1 - churn, BG/NBD 1 - P(no purchase)
        assert 0.0 <= float(values[3]) <= 1.0
        if model in OBJECTIVES:
            assert 0.0 <= float(values[-1]) <= 1.0  # P10-P90 coverage for our models
        else:
            assert values[-1] == "NaN"  # baselines have no interval
    verdict = out.split("beats persistence and BG/NBD + Gamma-Gamma:")[1]
    for model in OBJECTIVES:
        assert re.search(rf"^{model}(\s+\d/2){{5}}$", verdict, flags=re.M), model
