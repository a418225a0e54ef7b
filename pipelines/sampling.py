"""`--sample-customers N` for train and backtest (issue 11): the sample, what the run records about it, and how
the pandas engine cuts the sampled customers' tables (`pipelines.engines.spark_training` selects the same sample on
Spark's executors)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from rich.console import Console

from features.table import daily_company_orders
from features.training import CustomerSample


@dataclass(frozen=True)
class TrainingSample:
    """`--sample-customers N`: the customers train and backtest fit on, and what the run records about them."""

    sample: CustomerSample
    n_base: int  # distinct customer ids of the whole base (every id column)
    driver: dict[str, Any] = field(default_factory=dict)  # what the driver received (the Spark engine)
    #: the whole base's stopped exports (`training_stops.export_stops`, judged before sampling), said by
    #: `training_stops.stopped_in_training`; None: not judged (the sample's tables are then judged)
    stopped: tuple[str, ...] | None = None

    def params(self) -> dict[str, Any]:
        """For the MLflow run (and its model card): sample and base size, the hash key and the rule."""
        from pipelines.engines.chunks import HASH_KEY

        return {
            "sample_customers": len(self.sample.customers),
            "base_customers": self.n_base,
            "sample_key": HASH_KEY,
            "sample_rule": "the N lowest siphash-2-4 hashes of the customer ids under sample_key",
        } | {f"sample_driver_{k}": v for k, v in self.driver.items()}


def sample_tables(
    tables: dict[str, pd.DataFrame], n_customers: int, stopped: list[str] | None = None
) -> tuple[dict[str, pd.DataFrame], TrainingSample]:
    """The tables of `n_customers` customers of the keyed hash sample (`pipelines.engines.chunks.plan_sample`:
    their rows and those of the customers they referred) and the sample, whose company values come from every
    order of `tables`, as its `stopped` exports (judged on `tables`: `training_stops.export_stops`)."""
    from pipelines.engines.chunks import plan_sample

    plan, n_base = plan_sample(tables, n_customers)
    sample = CustomerSample(plan.customers[0], daily_company_orders(tables["orders"]))
    kept = None if stopped is None else tuple(stopped)
    return plan.tables(tables, 0), TrainingSample(sample, n_base, stopped=kept)


def say_sample(sample: TrainingSample, console: Console) -> None:
    console.print(
        f"training sample: {len(sample.sample.customers):,} of {sample.n_base:,} customers (keyed hash of the "
        "id); company values from the whole base"
    )
