"""`cvp train / backtest --sample-customers N` (issue 11): a keyed hash sample of the customers, whose training set
is the whole base's restricted to them, company values (concentration denominators, seasonal index) from the
whole base at every training cutoff."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from features import build_training_set
from features.table import compute
from features.training import training_cutoffs, truncate_tables
from pipelines.config import load_config
from pipelines.demo import generate_company, write_company
from pipelines.engines.chunks import hash_sample
from pipelines.io import load_data
from pipelines.sampling import sample_tables
from tests.helpers import quiet

AS_OF = pd.Timestamp("2024-07-01")
N_SAMPLE = 250


#: The Spark tests' company and sample: smaller than the pandas tests' (500 customers, a sample of `N_SAMPLE`), the
#: Spark loads' Python workers reading every row; their assertions hold on it as on the larger one.
SPARK_CUSTOMERS, N_SPARK_SAMPLE = 200, 100


#: The optional tables of the demo company: left out of the Spark stop tests' data where the stop does not read them.
SIDE_TABLES = (
    "account_managers.parquet",
    "invoices.parquet",
    "referrals.parquet",
    "returns.parquet",
    "tickets.parquet",
)


def _company(
    tmp_path_factory: pytest.TempPathFactory, customers: int
) -> tuple[Path, dict[str, pd.DataFrame]]:
    data = tmp_path_factory.mktemp("sample") / "data"
    write_company(generate_company(customers, "2022-01-01", "2024-09-30", 7), data)
    return data, load_data(data).tables


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame]]:
    return _company(tmp_path_factory, 500)


@pytest.fixture(scope="module")
def spark_company(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame]]:
    return _company(tmp_path_factory, SPARK_CUSTOMERS)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories as strings: a sample's profile columns know fewer categories than the whole base's."""
    out = frame.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype("object").where(out[c].notna(), None)
    return out


def test_hash_sample_depends_on_the_ids_only() -> None:
    ids = np.array([f"C{i:05d}" for i in range(2000)], dtype=object)
    first = hash_sample(ids, 100)
    assert len(first) == 100 and len(set(first)) == 100
    shuffled = np.random.default_rng(3).permutation(ids)
    assert list(hash_sample(shuffled, 100)) == list(first)  # row order does not matter
    assert set(hash_sample(ids, 50)) <= set(first)  # a smaller sample is part of a larger one
    assert list(hash_sample(ids, 5000)) == sorted(ids)  # N above the base: every customer
    assert list(first) != sorted(ids)[:100]  # a hash, not the first ids


def test_sample_training_set_equals_the_whole_base_restricted_to_it(company) -> None:
    _, tables = company
    cfg = load_config(None)
    h = cfg.labels.horizon_days
    sampled, ts = sample_tables(tables, N_SAMPLE)
    assert len(ts.sample.customers) == N_SAMPLE and ts.n_base >= 500
    chosen = set(ts.sample.customers)
    # the sample's tables also carry the rows of the customers a sampled referrer brought (its referral features)
    refs = tables["referrals"]
    brought = refs[refs["referrer_id"].isin(chosen) & ~refs["referred_id"].isin(chosen)]
    assert len(brought) > 0
    assert set(brought["referred_id"]) <= set(sampled["orders"]["customer_id"]) | set(
        sampled["customers"]["customer_id"]
    )

    full = build_training_set(tables, AS_OF, h, cfg.features, cfg.labels)
    part = build_training_set(sampled, AS_OF, h, cfg.features, cfg.labels, ts.sample)
    expected = ts.sample.restrict(full)
    assert len(part) > 0 and set(part["customer_id"]) <= chosen
    assert part["cutoff"].nunique() >= 3
    pd.testing.assert_frame_equal(_plain(part), _plain(expected), rtol=1e-9, atol=1e-12)

    company_cols = [
        c for c in part.columns if c.startswith(("profit_revenue_share_", "season_company_index_"))
    ]
    referral_cols = [c for c in part.columns if c.startswith("referral_referred_net_profit")]
    assert company_cols and referral_cols
    assert part[company_cols].notna().any().all() and (part[referral_cols].fillna(0) != 0).any().all()

    # The same sample with the company values taken from the sample itself: the test above would fail.
    cutoffs = training_cutoffs(AS_OF, h, cfg.labels)
    own, _ = compute(
        truncate_tables(sampled, AS_OF), cutoffs, cfg.features, label_horizon_days=h, label_config=cfg.labels
    )
    own = ts.sample.restrict(own)
    for c in company_cols:
        assert not np.allclose(own[c], expected[c], rtol=1e-6, equal_nan=True), c


def _fast_config(path: Path, tracking_dir: Path) -> Path:
    from tests.pipelines.conftest import FAST_CONFIG

    path.write_text(yaml.safe_dump(FAST_CONFIG | {"mlflow": {"tracking_dir": str(tracking_dir)}}))
    return path


def test_train_and_backtest_with_a_sample_record_it(company, new_store, tmp_path) -> None:
    """`cvp train --sample-customers N`: the MLflow run and the model card say how many of how many customers, and
    under which hash key; `cvp backtest --sample-customers N` runs its folds on the sample."""
    import mlflow
    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.engines.chunks import HASH_KEY
    from pipelines.tracking_card import model_card
    from tests.pipelines.conftest import empty_registry

    data, tables = company
    config = _fast_config(tmp_path / "c.yaml", tmp_path / "m")
    empty_registry(new_store, tmp_path / "m")
    args = [
        "--data",
        str(data),
        "--config",
        str(config),
        "--as-of",
        "2024-07-01",
        "--sample-customers",
        "300",
    ]
    res = CliRunner().invoke(app, ["backtest", *args, "--out", str(tmp_path / "bt")])
    assert res.exit_code == 0, res.output
    assert "training sample: 300 of" in res.output
    assert (tmp_path / "bt" / "backtest_metrics.csv").exists()

    res = CliRunner().invoke(app, ["train", *args, "--promote"])
    assert res.exit_code == 0, res.output
    cfg = load_config(config)
    run = mlflow.MlflowClient().search_runs(
        [mlflow.get_experiment_by_name(cfg.mlflow.experiment).experiment_id]
    )[0]
    params = run.data.params
    n_base = sample_tables(tables, 300)[1].n_base
    assert params["sample_customers"] == "300" and params["base_customers"] == str(n_base)
    assert params["sample_key"] == HASH_KEY and n_base > 300
    # the run and where to look at it are said (was: only "registered customer-value version 1 as champion")
    said = " ".join(res.output.split())
    assert (
        f"MLflow run {run.info.run_id}; runs and registry: mlflow ui --backend-store-uri sqlite:///" in said
    )
    card = model_card("1", cfg, cfg.labels.horizon_days, run_id=run.info.run_id)
    assert card["training_sample"].startswith(f"300 of {n_base} customers")
    # scored on the whole base, the scores manifest says the model was fitted on a sample (was: not a word)
    out = tmp_path / "scores.parquet"
    res = CliRunner().invoke(
        app,
        ["score", "--data", str(data), "--config", str(config), "--as-of", "2024-07-01", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    manifest = json.loads(out.with_name("scores.manifest.json").read_text())
    assert manifest["model_sample"] == card["training_sample"]
    assert manifest["customers_total"] > 300
    # its base per reference date is the sample's: only a floor of the company's (was: said to be "about" it)
    assert manifest["drift"]["reference_customers_at_least"] is True


def test_spark_engine_sample_equals_the_pandas_engines(
    spark_company, spark, new_store, tmp_path, monkeypatch
) -> None:
    """`cvp train --engine spark --sample-customers N`: the same sample, company days and sampled rows as the pandas
    engine's, so the same training set; the driver received the sample's rows only, recorded in the MLflow run
    beside the base's. The whole base's per-day counts the sample's stops are judged on, summed from the executors
    (`filled_days_spark`, one job for every event table), are the pandas `filled_by_day` of each whole table."""
    import io

    import mlflow
    from rich.console import Console

    from pipelines.data_age import filled_by_day
    from pipelines.engines import spark_training
    from pipelines.engines.spark_session import spark_jobs
    from pipelines.engines.spark_training import load_spark_sample
    from pipelines.loading import later_events, say_later_events
    from pipelines.train import train_and_register
    from tests.pipelines.conftest import empty_registry

    data, tables = spark_company
    config = _fast_config(tmp_path / "c.yaml", tmp_path / "m")
    empty_registry(new_store, tmp_path / "m")
    console = Console(file=io.StringIO(), width=200)
    whole_days: list[dict[str, pd.DataFrame]] = []
    counted = spark_training.filled_days_spark
    monkeypatch.setattr(
        spark_training, "filled_days_spark", lambda *a: whole_days.append(counted(*a)) or whole_days[-1]
    )
    jobs = spark_jobs(spark)
    cfg, got_tables, cutoff, sample, _ = load_spark_sample(
        data, None, config, {}, "2024-07-01", console, "train on", N_SPARK_SAMPLE, None
    )
    jobs = spark_jobs(spark) - jobs
    said = console.file.getvalue()
    h = cfg.labels.horizon_days
    sampled, ts = sample_tables(tables, N_SPARK_SAMPLE)
    # the events after the as-of counted on the executors: the pandas engine's warning
    assert cutoff == AS_OF
    pandas_said = Console(file=io.StringIO(), width=200)
    assert say_later_events(later_events(tables, AS_OF), AS_OF, pandas_said)
    assert pandas_said.file.getvalue() in said
    assert f"training sample: {N_SPARK_SAMPLE} of {ts.n_base:,} customers" in said
    assert list(sample.sample.customers) == list(ts.sample.customers) and sample.n_base == ts.n_base
    ours, theirs = sample.sample.company_orders, ts.sample.company_orders
    assert (ours["ordered_at"].to_numpy() == theirs["ordered_at"].to_numpy()).all()
    np.testing.assert_allclose(ours["revenue"], theirs["revenue"], rtol=1e-12)
    assert set(got_tables) == set(sampled)
    for name, frame in sampled.items():
        got = got_tables[name]
        assert len(got) == len(frame), name
        pd.testing.assert_frame_equal(
            _plain(got.reset_index(drop=True))[list(frame.columns)],
            _plain(frame.reset_index(drop=True)),
            obj=name,
        )
    received = sample.driver
    assert received["rows"] == sum(len(f) for f in sampled.values())
    assert received["base_rows"] == sum(len(f) for f in tables.values()) > received["rows"]
    assert f"the driver received {received['rows']:,} of the {received['base_rows']:,} accepted rows" in said
    from pipelines.training_stops import export_stops

    # the stopped exports of the whole base, counted by Spark's executors: the pandas engine's of the whole tables
    want_days = {n: filled_by_day(n, t) for n, t in tables.items()}
    assert len(whole_days) == 1 and set(whole_days[0]) == {n for n, d in want_days.items() if d is not None}
    for name, days in whole_days[0].items():
        pd.testing.assert_frame_equal(
            days, want_days[name], check_like=True, check_freq=False, check_index_type=False, obj=name
        )
    assert sample.stopped == tuple(export_stops(tables, AS_OF, cfg))
    print(f"Spark jobs of the sampled load: {jobs}; received {received}")

    got = build_training_set(got_tables, AS_OF, h, cfg.features, cfg.labels, sample.sample)
    want = build_training_set(sampled, AS_OF, h, cfg.features, cfg.labels, ts.sample)
    assert len(got) > 0
    pd.testing.assert_frame_equal(_plain(got), _plain(want), rtol=1e-9, atol=1e-12)

    res = train_and_register(got_tables, cfg, cutoff, console, promote=True, sample=sample)
    params = mlflow.MlflowClient().get_run(res.run_id).data.params
    assert params["sample_customers"] == str(N_SPARK_SAMPLE) and params["base_customers"] == str(ts.n_base)
    assert params["sample_driver_rows"] == str(received["rows"])
    assert params["sample_driver_base_rows"] == str(received["base_rows"])


def test_train_engine_and_mapping_refusals_are_messages(company, tmp_path) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    data, _ = company
    mapping = tmp_path / "m.yaml"
    mapping.write_text("tables: {}\n")
    res = CliRunner().invoke(
        app, ["train", "--data", str(data), "--engine", "spark", "--mapping", str(mapping)]
    )
    assert (
        res.exit_code == 2
        and "with --mapping (a foreign schema), train or backtest with --engine pandas" in (res.output)
    )
    res = CliRunner().invoke(
        app, ["backtest", "--data", str(data), "--engine", "dask", "--out", str(tmp_path / "b")]
    )
    assert res.exit_code == 2 and "--engine must be pandas or spark, not 'dask'" in res.output


def test_spark_train_refuses_future_orders_as_the_pandas_engine(spark_company, spark, tmp_path) -> None:
    """Orders dated after today: the Spark training load names how many orders and shows them (was: the count and
    example rows of the company's days, the summary the as-of is decided from), as the pandas loader does."""
    import shutil

    from features.validation import StructuralError
    from pipelines.engines.spark_training import sample_training_input
    from pipelines.train import load_for_modelling

    data, _ = spark_company
    moved = tmp_path / "data"
    # the two tables the stop reads (customers are required): the others are optional, and the Spark load
    # validates each table it is given before it reaches the stop
    shutil.copytree(data, moved, ignore=shutil.ignore_patterns("_truth", *SIDE_TABLES))
    orders = pd.read_parquet(moved / "orders.parquet")
    orders.loc[orders.index[[3, 4]], "ordered_at"] = pd.Timestamp(
        "2098-01-01 10:00"
    )  # same day: one day, 2 orders
    orders.to_parquet(moved / "orders.parquet", index=False)
    cfg = load_config(None)
    with pytest.raises(StructuralError) as pandas_error:
        load_for_modelling(moved, None, None, {}, None, quiet(None))
    with pytest.raises(StructuralError) as spark_error:
        sample_training_input(spark, moved, cfg, None, "train on", 100)
    head = str(pandas_error.value).split("Example rows")[0]
    assert "2 order(s) in the future" in head and str(spark_error.value).startswith(head)
    for order_id in orders.loc[orders.index[[3, 4]], "order_id"]:
        assert str(order_id) in str(spark_error.value)


def _broken(data: Path, to: Path, *broken: str) -> Path:
    """`data` with the `broken` whole-base problems: `paid_at` (`invoices.paid_at` emptied), `revenue` (0 on every
    order); the returns left out (else the returns above their zeroed orders stop the load first, both engines),
    and the other side tables but the invoices."""
    import shutil

    # the tables the stops read (customers are required): the Spark load validates each table it is given
    shutil.copytree(
        data, to, ignore=shutil.ignore_patterns("_truth", *(set(SIDE_TABLES) - {"invoices.parquet"}))
    )
    for table, column, value in [
        ("invoices", "paid_at", pd.NaT) if b == "paid_at" else ("orders", "revenue", 0.0) for b in broken
    ]:
        frame = pd.read_parquet(to / f"{table}.parquet")
        frame[column] = value
        frame.to_parquet(to / f"{table}.parquet", index=False)
    return to


def test_spark_train_applies_the_whole_base_stops_of_the_pandas_engine(
    spark_company, spark, tmp_path, monkeypatch
) -> None:
    """An emptied `invoices.paid_at` or revenue 0 on every order: the Spark training load stops with the pandas
    message and counts, judged on the whole base (was: on the company days' summary, which has no invoices: the
    emptied payments trained a model in which every invoice was overdue, and the zero revenue counted days).
    One Spark load (the costly part) judges both: data with both problems stops on the revenue, the first
    stop (as on pandas); the same call of `whole_base_stops` given the company's days with their revenue (the
    whole base as before it was zeroed, the days the Spark aggregation found) judges the emptied `paid_at` on the
    same whole base. (Were two Spark loads, one per problem.)"""
    from features.table import daily_company_orders
    from features.validation import StructuralError
    from pipelines.engines import spark_training
    from pipelines.loading import check_as_of
    from pipelines.train import load_for_modelling

    data, tables = spark_company
    heads = {}
    for broken in ("paid_at", "revenue"):
        with pytest.raises(StructuralError) as pandas_error:
            cfg, got, cutoff, _ = load_for_modelling(
                _broken(data, tmp_path / broken, broken), None, None, {}, "2024-07-01", quiet(None)
            )
            check_as_of(got, cutoff, cfg.labels, "train on")
        heads[broken] = str(pandas_error.value).split("Example rows")[0]

    judged = {}
    whole_base_stops = spark_training.whole_base_stops

    def both(accepted, present, daily, last, what):
        company_days = daily_company_orders(tables["orders"])
        assert (daily["ordered_at"].to_numpy() == company_days["ordered_at"].to_numpy()).all()
        # the days with their revenue: the next stop is judged
        with pytest.raises(StructuralError) as paid_at:
            whole_base_stops(accepted, present, company_days, last, what)
        judged["paid_at"] = paid_at.value
        whole_base_stops(accepted, present, daily, last, what)  # the load's own days: revenue 0 on each

    monkeypatch.setattr(spark_training, "whole_base_stops", both)
    moved = _broken(data, tmp_path / "both", "paid_at", "revenue")
    with pytest.raises(StructuralError) as spark_error:
        spark_training.sample_training_input(spark, moved, load_config(None), "2024-07-01", "train on", 100)
    judged["revenue"] = spark_error.value
    for broken, column in (("paid_at", "paid_at"), ("revenue", "revenue")):
        head = heads[broken]
        assert f"column {column}" in head and str(judged[broken]).startswith(head), broken
