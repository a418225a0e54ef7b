"""Round 26 b: the stopped-export check of `cvp train` / `cvp backtest` with `--sample-customers N` judges the whole
base, not the sample (`training_stops.export_stops` before sampling; on Spark from the whole base's per-day counts,
summed on the executors: `spark_training.filled_days_spark`). Hand-made tables, no training, no Spark session."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from rich.console import Console

AS_OF = pd.Timestamp("2026-01-01")  # the validated tables' naive UTC


def _base(n_customers: int = 200) -> dict[str, pd.DataFrame]:
    """An order and a ticket a day over 2024-2025 from `n_customers` customers in turn; the orders' cost emptied
    from 2025-07-01 on (184 orders), the tickets cut after 2025-06-30: both stops of the whole base."""
    days = pd.date_range("2024-01-01", "2025-12-31", freq="D") + pd.Timedelta(hours=10)
    ids = pd.Series([f"c{i % n_customers:03d}" for i in range(len(days))], dtype="str")
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(len(days))],
            "customer_id": ids,
            "ordered_at": days,
            "revenue": 10.0,
            "cost": 6.0,
        }
    )
    orders.loc[orders["ordered_at"] >= "2025-07-01", "cost"] = None
    tickets = pd.DataFrame({"customer_id": ids, "opened_at": days})
    return {"orders": orders, "tickets": tickets[tickets["opened_at"] < "2025-07-01"].reset_index(drop=True)}


def _quiet() -> Console:
    return Console(file=io.StringIO())


def test_a_sample_says_the_whole_base_s_stopped_exports(monkeypatch):
    """`--sample-customers 5` of 200 customers: the sample's 5 customers hold about 5 of the 184 orders without a
    cost and a few tickets, under `scoring.stopped_table_rows` (20): was (merge32) not a word of either stop; the
    whole base's were. Now the sample's run says the whole base's, word for word (the same --as-of advice),
    warned once after the fit (`keep_stops`), and a backtest's advice names `backtest`."""
    from pipelines import train
    from pipelines.config import load_config
    from pipelines.training_stops import keep_stops, stopped_in_training

    cfg, tables = load_config(), _base()
    whole = stopped_in_training(tables, AS_OF, cfg, _quiet())
    assert [s.split(" ", 1)[0] for s in whole] == ["tickets.opened_at", "orders.cost"]
    monkeypatch.setattr(train, "load_for_modelling", lambda *a: (cfg, tables, AS_OF, {}))

    def sampled(what: str):
        got = train.load_sampled(Path("data"), None, None, {}, None, _quiet(), what, 5)
        return got[1], got[3]

    got, sample = sampled("train on")
    assert 0 < len(got["orders"]) < len(tables["orders"]) / 10  # a sample, not the base
    assert stopped_in_training(got, AS_OF, cfg, _quiet()) == []  # its own rows: too few to judge
    bundle, console = SimpleNamespace(), Console(record=True, width=10_000, file=io.StringIO())
    assert keep_stops(bundle, got, AS_OF, cfg, console, sample) == {
        "stopped_inputs": "tickets.opened_at,orders.cost"
    }
    assert bundle.data_warnings_ == whole
    assert console.export_text().count("warning: orders.cost has no value after 2025-06-30") == 1
    got, sample = sampled("backtest")
    said = stopped_in_training(got, AS_OF, cfg, _quiet(), "backtest", sample)
    assert said[1].endswith("or backtest with --as-of 2025-07-01"), said


def test_the_spark_sample_is_judged_on_the_whole_base_s_per_day_counts():
    """The Spark engine's sample (the driver holds its rows only): the whole base's `filled_by_day`, counted a
    batch at a time as the executors would (`day_counts`) and summed (`summed_day_counts`), is the whole table's
    to the row, and the sample's tables with it say the emptied `orders.cost` its own rows missed (was, merge32:
    `sample_training_input` handed back `dict(tables)`, the sample's per-day counts, judged on 5 customers' rows)."""
    from pipelines.config import load_config
    from pipelines.data_age import filled_by_day
    from pipelines.engines.spark_checks import VAL
    from pipelines.engines.spark_tables import SparkTables
    from pipelines.engines.spark_training import day_counts, summed_day_counts
    from pipelines.training_stops import export_stops

    cfg = load_config()
    orders = _base()["orders"]
    batches = [orders.iloc[i : i + 97] for i in range(0, len(orders), 97)]  # as partitions hand them
    counted = pd.concat(
        [day_counts("orders", b.reset_index(drop=True).add_prefix(f"orders|{VAL}")) for b in batches]
    )
    assert counted["column"].dtype == object  # Arrow takes no pandas string column back from a `mapInPandas`
    whole = summed_day_counts(counted)
    pd.testing.assert_frame_equal(whole, filled_by_day("orders", orders), check_freq=False)
    ours = orders["customer_id"].isin(["c000", "c001", "c002", "c003", "c004"])
    sample = SparkTables(orders=orders[ours].reset_index(drop=True))
    assert export_stops(sample, AS_OF, cfg) == []  # the sample's own counts: 5 orders without a cost
    sample.filled_days = {"orders": whole}
    said = export_stops(sample, AS_OF, cfg)
    assert [s.split(" ", 1)[0] for s in said] == ["orders.cost"], said
    assert "184 rows of orders came after it" in said[0] and "train with --as-of 2025-07-01" in said[0]
