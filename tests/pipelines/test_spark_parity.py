"""The two engines on the same data and model where they used to disagree (issue 11's open seams): a table the
model was not trained on, categories unseen in training, a model with BTYD features. Each case scores the same data
with `cvp score`'s job on the pandas engine and on Spark (`local[2]`, the Spark load included) and compares the
output sets: the scores file, the contributions and the manifest's entries.

Small data (300 demo customers, models of `FAST_CONFIG`): the Spark runs cost most of the time.
"""

from __future__ import annotations

import gc
import io
import shutil
import weakref
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import pytest
import yaml
from rich.console import Console

from tests.pipelines.conftest import FAST_CONFIG, empty_registry

AS_OF = "2025-01-01"
#: customers of the scoring data whose segment the model never saw (a few: scored as missing, not refused)
UNSEEN_SEGMENT = "Government"


@dataclass(frozen=True)
class EngineRuns:
    root: Path
    pandas: object  # the pandas engine's ScoreRun
    spark: object  # the Spark engine's ScoreRun, or the exception it raised
    printed: dict[str, str]  # what each run printed
    out: dict[str, Path]  # each run's scores
    #: when the Spark run writes its scores: how many tables its driver still holds, and its orders per customer
    at_write: dict[str, object] | None = None
    #: the training of the model both engines scored with (`train_and_register`'s `TrainResult`)
    model: object = None


def _console() -> Console:
    return Console(file=io.StringIO(), width=400)


def _train(
    root: Path, data: Path, new_store: Path | None, name: str = "config.yaml", **changes: dict
) -> tuple[Path, object]:
    """A model of `FAST_CONFIG` with `changes` trained on `data` and promoted, in the registry under `root`
    (a new one from `new_store`, or the one there already when None): its config and `TrainResult`."""
    from pipelines.config import load_config
    from pipelines.io import load_data
    from pipelines.train import train_and_register

    settings = FAST_CONFIG | {"mlflow": {"tracking_dir": str(root / "mlruns")}}
    for section, values in changes.items():
        settings = settings | {section: settings.get(section, {}) | values}
    config = root / name
    config.write_text(yaml.safe_dump(settings))
    if new_store is not None:
        empty_registry(new_store, root / "mlruns")
    cfg = load_config(config)
    trained = train_and_register(
        load_data(data, None, cfg.data.timezone).tables,
        cfg,
        pd.Timestamp("2024-07-01"),
        _console(),
        promote=True,
    )
    return config, trained


def _score_both(root: Path, data: Path, config: Path, history: Path | None = None) -> EngineRuns:
    """`run_score` on each engine into `root/<engine>/`; with `history`, each on its own copy of it."""
    import pipelines.engines.score_base as score_base
    import pipelines.engines.spark_input as spark_input
    import pipelines.engines.spark_parts as spark_parts
    from pipelines.engines.run import run_score

    printed: dict[str, str] = {}
    runs: dict[str, object] = {}
    outs: dict[str, Path] = {}
    # issue 11: what the Spark driver still holds of the tables when it writes the scores (the write is the peak)
    loaded: list = []
    frames: list = []
    at_write: dict[str, object] = {}
    accepted_tables, write_spark_output = spark_input.accepted_tables, spark_parts.write_spark_output
    finish_scores = score_base.finish_scores

    def spy_finish(compact, *args, **kwargs):  # the compact scores the backend handed over, once finished
        gc.collect()  # the tables alive while the finish runs (issue 11: let go before the scores are collected)
        at_write["finish_alive"] = sorted(n for n, r in frames if r() is not None)
        out = finish_scores(compact, *args, **kwargs)
        at_write["finished"] = len(compact) if isinstance(compact, list) else "a frame kept"
        return out

    def spy_tables(*args, **kwargs):
        loaded.append(accepted_tables(*args, **kwargs))
        frames[:] = [
            (n, weakref.ref(f)) for n, f in loaded[-1].items()
        ]  # alive while anything refers to them
        return loaded[-1]

    def spy_write(*args, **kwargs):
        gc.collect()
        alive = sorted(n for n, r in frames if r() is not None)
        at_write.update(tables=len(loaded[-1]), alive=alive, order_counts=loaded[-1].order_counts)
        return write_spark_output(*args, **kwargs)

    for engine in ("pandas", "spark"):
        at_write.clear()  # the Spark run's, the last
        console = _console()
        out = root / engine / ("scores.parquet" if engine == "pandas" else "scores")
        out.parent.mkdir()
        outs[engine] = out
        own = None
        if history is not None:
            own = root / f"history-{engine}"
            shutil.copytree(history, own)
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(spark_input, "accepted_tables", spy_tables)
                patch.setattr(spark_parts, "write_spark_output", spy_write)
                patch.setattr(score_base, "finish_scores", spy_finish)
                runs[engine] = run_score(
                    data,
                    AS_OF,
                    out,
                    None,
                    engine,
                    None,
                    None,
                    config,
                    console,
                    "local[2]" if engine == "spark" else None,
                    history=own,
                )
        except Exception as exc:  # kept: the test says what it was
            runs[engine] = exc
        printed[engine] = console.file.getvalue()
    assert not isinstance(runs["pandas"], Exception), runs["pandas"]
    return EngineRuns(root, runs["pandas"], runs["spark"], printed, outs, at_write)


@pytest.fixture(scope="module")
def seams(spark, new_store, tmp_path_factory) -> EngineRuns:
    """Every seam in one pair of runs (a training and a Spark run cost most of this module's time): a model with
    BTYD features (`models.use_btyd_features`, v1) trained without invoices nor `orders.cost` scores 2024-12-01 into a history on
    the pandas engine; a second model (v2, other trees, BTYD features too) trained on the same data, then data with
    invoices (added after training), orders with their cost, and a few customers of a segment the models never saw, scored as of 2025-01-01
    with that history by both engines: a table and a column the model was not trained on, unseen categories, BTYD
    features, and
    issue 15's bridge (the model changed since the history's run: each engine explains the new data with v1 too)."""
    from pipelines.demo import generate_company, write_company
    from pipelines.engines.run import run_score
    from pipelines.history_append import append_run

    root = tmp_path_factory.mktemp("spark-parity")
    train, data = root / "train", root / "data"
    write_company(generate_company(300, "2022-01-01", "2024-12-31", 7), data)
    train.mkdir()
    for p in data.glob("*.parquet"):
        if p.stem == "orders":  # trained without orders.cost: the model's margin is the guessed one
            pd.read_parquet(p).drop(columns="cost").to_parquet(train / p.name, index=False)
        elif p.stem != "invoices":
            (train / p.name).write_bytes(p.read_bytes())
    btyd = {"use_btyd_features": True}
    config, _ = _train(root, train, new_store, models=btyd)
    customers = pd.read_parquet(data / "customers.parquet")
    customers.loc[customers.index[:6], "segment"] = UNSEEN_SEGMENT
    customers.to_parquet(data / "customers.parquet", index=False)
    history = root / "history"
    first = run_score(
        data, "2024-12-01", root / "old" / "scores.parquet", "models:/customer-value/1", "pandas", None, None,
        config, _console(), history=history,
    )  # fmt: skip
    append_run(
        history, first.scores, first.contributions_path, first.manifest
    )  # as `cvp score --history` does
    trees = {"n_estimators": 30, "num_leaves": 7, "min_child_samples": 20}
    config, model = _train(root, train, None, "v2.yaml", models=btyd | {"lightgbm": trees})
    return replace(_score_both(root, data, config, history), model=model)


def _spark_run(runs: EngineRuns):
    if isinstance(runs.spark, Exception):
        pytest.fail(f"the Spark engine refused what the pandas engine scored: {runs.spark}")
    return runs.spark


def _assert_same_scores(runs: EngineRuns) -> pd.DataFrame:
    _spark_run(runs)
    expected, got = pd.read_parquet(runs.out["pandas"]), pd.read_parquet(runs.out["spark"])
    assert list(got.columns) == list(expected.columns)
    assert got.dtypes.to_dict() == expected.dtypes.to_dict()
    pd.testing.assert_frame_equal(
        got.drop(columns="run_id"), expected.drop(columns="run_id"), check_exact=False, rtol=1e-9, atol=1e-9
    )
    for col in ("tier", "tier_reason", "rating", "flags", "value_reason_feature_1", "churn_reason_feature_1"):
        assert got[col].equals(expected[col]), col
    return expected


@pytest.mark.spark
def test_spark_scores_a_table_added_after_training_as_the_pandas_engine(seams):
    """Invoices and `orders.cost` the model never saw: both engines build the model's features as trained (without
    the invoices, with the guessed margin) and the tier rules read the `payment_*` features and the margin of all
    the data; the Spark engine gives the same scores, tiers, ratings and reasons (was: exit 2, "unexpected feature
    columns (ignored)"; then the model read the real margin it never saw, on both engines)."""
    runs = seams
    expected = _assert_same_scores(runs)
    payment = [c for c in expected.columns if c.startswith("payment_")]
    assert payment and expected[payment].notna().any().all()  # the carried features the tier rules read
    # a rule on a feature the model never saw
    assert expected["tier_reason"].str.startswith("problem: dispute_share").any()
    a, b = runs.pandas.manifest, runs.spark.manifest
    assert b["ignored_columns"] == a["ignored_columns"]
    assert not any(
        c.startswith("payment_") for c in a["ignored_columns"]
    )  # not built for the model (was: built)
    left_out = {"tables_left_out": ["invoices"], "columns_left_out": ["orders.cost"], "columns_emptied": []}
    assert a["model_inputs_as_trained"] == b["model_inputs_as_trained"] == left_out
    # the same predictions as the pandas engine's, which are those of the data without them
    # (`test_model_inputs_as_trained.py`), and the same carried margins, of the cost
    for engine in ("pandas", "spark"):
        said = " ".join(runs.printed[engine].split())
        assert (
            "table invoices: in this data, not in the model's training data: the model scored these " in said
        )
        assert (
            "orders.cost: in this data, not in the model's training data: the model scored these customers "
            in said
        )


@pytest.mark.spark
def test_spark_scores_a_model_with_btyd_features_as_the_pandas_engine(seams):
    """BTYD features are fitted on the whole base at scoring (population parameters): the Spark engine fits them
    on the driver from the orders' columns it keeps, as the pandas engine does, and the executors join them per
    bucket: the same scores, tiers, ratings, reasons and contributions (was: exit 2, "missing feature columns:
    ['btyd_...']"). The pandas engine's run is also the product's one scoring of a BTYD model on the pandas
    engine (was `test_score.py::test_model_with_btyd_features_scores`, a BTYD training of its own): a champion
    reading BTYD features scores every customer it counts, with BTYD contributions."""
    runs = seams
    assert runs.model.alias == "champion" and any(
        f.startswith("btyd_") for f in runs.model.bundle.feature_names
    )
    s = pd.read_parquet(runs.out["pandas"])
    scored = s[s["status"] == "scored"]
    assert len(scored) == runs.pandas.manifest["customers_scored"] > 0
    assert scored["pred_value_365d"].notna().all()
    _assert_same_scores(runs)
    a, b = runs.pandas.manifest, runs.spark.manifest
    assert b["drift"]["psi"].keys() == a["drift"]["psi"].keys()
    for key, value in a["drift"]["psi"].items():
        assert b["drift"]["psi"][key] == pytest.approx(value, abs=2e-6), key
    assert b["notes"] == a["notes"]
    expected = pd.read_parquet(runs.pandas.contributions_path).drop(columns="run_id")
    assert any(c.startswith("btyd_") for c in expected.columns)  # the model reads them
    got = pd.read_parquet(runs.spark.contributions_path).drop(columns="run_id")
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-9)


@pytest.mark.spark
def test_spark_counts_unseen_categories_per_value_as_the_pandas_engine(seams):
    """A segment the model never saw on a few customers: scored as missing by both engines, and the Spark engine
    counts its scored customers per value as the pandas engine does (the manifest's `unseen_categories`, the
    run's warning) (was: no entry on Spark)."""
    runs = seams
    spark = _spark_run(runs)
    expected = runs.pandas.manifest["unseen_categories"]
    scores = pd.read_parquet(runs.out["pandas"])
    customers = pd.read_parquet(runs.root / "data" / "customers.parquet")
    unseen_ids = customers.loc[customers["segment"] == UNSEEN_SEGMENT, "customer_id"]
    government = scores.loc[scores["status"] == "scored", "customer_id"].isin(unseen_ids)
    assert expected == {"profile_segment": {UNSEEN_SEGMENT: int(government.sum())}} and government.sum() > 0
    assert spark.manifest["unseen_categories"] == expected
    warning = [line for line in runs.printed["pandas"].splitlines() if "unseen in training" in line]
    assert warning and warning == [
        line for line in runs.printed["spark"].splitlines() if "unseen in training" in line
    ]


def _without_seconds(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_seconds(v) for k, v in value.items() if k != "seconds"}
    return value


@pytest.mark.spark
def test_spark_output_set_and_manifest_are_the_pandas_engines(seams):
    """The same output set (the churn contributions in probability points included, issue 15) and the same
    manifest entries, but for what says how the run went (timings, the engine, what the Spark driver received)
    (was: no churn contributions file nor `churn_contributions` entry on Spark)."""
    runs = seams
    spark = _spark_run(runs)
    files = {e: sorted(p.name for p in runs.out[e].parent.iterdir()) for e in ("pandas", "spark")}
    assert files["spark"] == sorted(n.replace("scores.parquet", "scores") for n in files["pandas"])
    a, b = runs.pandas.manifest, spark.manifest
    assert set(b) - set(a) == {"driver_collected"} and not set(a) - set(b)
    # the driver writes the scores holding none of its tables nor its orders per customer (was: all of them, the
    # pandas engine's let go; about 0.3 KB per demo customer held at the write, the run's peak)
    # nor while it finishes the base (was: every table the finish read, the managers, new customers and seasonal
    # note among them: about 0.33 KB per customer beside the collected scores)
    assert runs.at_write == {
        "tables": 0,
        "alive": [],
        "order_counts": None,
        "finished": 0,
        "finish_alive": [],
    }
    assert b["driver_collected"]["tables_held_mb"] > 0
    # and the finish held one copy of the compact scores: the frame the backend handed over is let go as it is
    # sorted (`finished`: the parts left in its list; was: the frame, kept beside its sorted copy)
    # each file's digest (seam round 31): the same files are recorded; the scores are a Parquet directory of parts
    # on Spark, a file on pandas, so their bytes differ where their rows do not (compared to 1e-9 elsewhere)
    assert set(b["file_digests"]) == set(a["file_digests"]) and "scores" in a["file_digests"]
    volatile = {"engine", "timings", "seconds", "total_seconds", "drift", "driver_collected", "file_digests"}
    for key in sorted(set(a) - volatile):
        assert _without_seconds(b[key]) == _without_seconds(a[key]), key
    # whose data: the Spark driver keeps no order ids, Spark computes the signature (was: KeyError 'order_id')
    assert len(b["base_signature"]) == 64 and b["base_signature"] == a["base_signature"]
    for key, value in a["drift"]["psi"].items():
        assert b["drift"]["psi"][key] == pytest.approx(value, abs=2e-6), key
    assert a["churn_contributions"]["rows"] == a["customers_scored"] > 0
    churn = "scores.churn_contributions.parquet"
    expected = pd.read_parquet(runs.out["pandas"].parent / churn)
    got = pd.read_parquet(runs.out["spark"].parent / churn)
    assert got["customer_id"].tolist() == expected["customer_id"].tolist()
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-9)


@pytest.mark.spark
def test_spark_explains_a_run_with_the_historys_previous_model_as_the_pandas_engine(seams):
    """The model changed since the history's previous run: the Spark engine writes the bridge (the old model's
    value and churn contributions on this run's data) as the pandas engine does, files and manifest entry (was:
    no bridge, the note "only the pandas engine explains a run with the old model too")."""
    runs = seams
    spark = _spark_run(runs)
    a, b = runs.pandas.manifest["bridge"], spark.manifest["bridge"]
    assert (
        a["old_model_version"] == "1"
        and "note" not in a
        and a["rows"]["value"] == runs.pandas.manifest["customers_scored"]
    )
    assert b == a
    for kind in ("bridge_contributions", "bridge_churn_contributions"):
        expected = pd.read_parquet(runs.out["pandas"].parent / f"scores.{kind}.parquet")
        assert any(c.startswith("btyd_") for c in expected.columns)  # v1 reads its own BTYD inputs
        got = pd.read_parquet(runs.out["spark"].parent / f"scores.{kind}.parquet")
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=1e-9)
    _assert_same_scores(runs)
