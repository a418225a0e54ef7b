"""Tiers and ratings of the Spark engine off the driver (issue 11): the whole base's cut points from Spark's exact
distributed pass equal the pandas engine's (`models.tiers.tier_cut_points`), and the executors' assignment equals
`assign_tiers` row by row. The whole engine's tiers against the pandas engine's: tests/pipelines/test_spark_cluster.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.tiers import assign_tiers, tier_cut_points
from pipelines.config import load_config
from pipelines.engines.spark_tiers import assign_batches, exact_quantiles, quantile_ranks

TIERS = load_config(None).tiers
H = 365
VALUE = TIERS.value_column.format(h=H)
CHURN = TIERS.great.churn_column.format(h=H)


def test_exact_quantiles_are_numpys_bit_for_bit():
    """From the two order statistics each quantile needs, the same float as `np.quantile` (its linear method)."""
    rng = np.random.default_rng(3)
    for trial in range(600):
        n = int(rng.integers(1, 40)) if trial % 2 else int(rng.integers(40, 3000))
        x = rng.normal(0, 1000, n) * rng.choice([1.0, 1e-7, 1e9])
        if trial % 3 == 0:
            x = np.round(x, -2)  # ties
        qs = (0.25, 0.5, 0.8) if trial % 2 else tuple(np.arange(1, 10) / 10)
        s = np.sort(x)
        at = {r: s[r] for q in qs for r in quantile_ranks(n, q)[:2]}
        assert exact_quantiles(n, qs, at) == tuple(float(v) for v in np.quantile(x, qs)), (n, qs)


def _base(n: int, seed: int) -> pd.DataFrame:
    """Scores with ties in value (across the Pareto boundary too), unknown values, customers not scored."""
    rng = np.random.default_rng(seed)
    value = np.round(rng.normal(100, 400, n), -2)
    value[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in rng.permutation(n)],
            "eligible": rng.random(n) < 0.9,
            VALUE: value,
            CHURN: rng.random(n),
        }
    )


@pytest.mark.spark
@pytest.mark.parametrize("variant", ["default", "absolute", "value"])
def test_spark_cut_points_and_assignment_equal_the_pandas_engine(spark, variant):
    from pipelines.engines.spark_tiers import spark_cut_points

    config = TIERS
    if variant == "absolute":
        rating = config.rating.model_copy(update={"method": "absolute", "cut_points": (-100.0, 0.0, 300.0)})
        config = config.model_copy(update={"rating": rating})
    elif variant == "value":
        config = config.model_copy(update={"great": config.great.model_copy(update={"basis": "value"})})
    base = _base(3000, 5)
    # several partitions, rows in no particular order: the cut points must not depend on either
    frame = spark.createDataFrame(base).repartition(4)
    got = spark_cut_points(frame, VALUE, config)
    scored = base[base["eligible"]].set_index("customer_id")
    expected = tier_cut_points(scored[VALUE].to_numpy(), scored.index, config)
    assert got == expected
    assert expected.n_known > 2000 and expected.pareto_value is not None
    # a tie at the Pareto boundary: the id breaks it, as in the pandas engine
    assert (scored[VALUE] == expected.pareto_value).sum() > 1

    out = pd.concat(assign_batches(iter([base.iloc[:1000], base.iloc[1000:]]), config, H, got, (VALUE,)))
    pandas = assign_tiers(scored, config, H)
    mine = out[out["eligible"]].set_index("customer_id")
    for col in ("tier", "rating", "tier_reason", "flags"):
        assert mine[col].fillna("?").tolist() == pandas[col].astype("str").fillna("?").tolist(), col
    assert out.loc[~out["eligible"], ["tier", "rating"]].isna().all().all()
    assert pandas["tier"].nunique() == 3 and pandas["rating"].nunique() == 4


@pytest.mark.spark
def test_spark_cut_points_of_a_base_without_known_values(spark):
    from pipelines.engines.spark_tiers import spark_cut_points

    base = _base(50, 1).assign(**{VALUE: np.nan})
    got = spark_cut_points(spark.createDataFrame(base), VALUE, TIERS)
    assert got == tier_cut_points(base[VALUE].to_numpy(), base["customer_id"], TIERS)
    assert got.n_known == 0 and got.rating_cuts is None
