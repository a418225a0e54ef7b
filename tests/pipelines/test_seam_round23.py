"""Round 23 of the train/score seam: what still let a wrong result through with exit 0, or two paths that should
agree did not.

Each test failed on the code before its fix (the `was:` of each docstring).
"""

from __future__ import annotations

import pytest
import yaml

from tests.helpers import keep_mlflow_uris, quiet


def test_the_demo_never_replaces_a_champion_of_your_own_data(trained, tmp_path, monkeypatch):
    """`cvp demo` run where `mlruns/` holds the company's champion (v1, trained on its own data): the demo company's
    model was compared with it refitted on the demo's folds, tied, and became champion, exit 0; the nightly
    `cvp score` of the real customers then used the fictional company's model (was: measured, a 300-customer
    company's promoted v1 replaced by `cvp demo`'s v3). Now a demo's training logs `trained_by: cvp demo` and
    registers as challenger, saying why, over a champion no demo trained; over an earlier demo's it is compared as
    any training, and so into a registry without a champion."""
    from types import SimpleNamespace

    from pipelines.mlflow_import import mlflow
    from pipelines.tracking import DEMO_PARAM, DEMO_TRAINER
    from pipelines.tracking_runs import demo_keeps_champion
    from pipelines.tracking_store import configure_tracking

    keep_mlflow_uris(monkeypatch)
    configure_tracking(trained.mlruns, reading=True)  # read only: the fixture's v1, trained by `cvp train`
    kept = demo_keeps_champion(mlflow.MlflowClient(), "customer-value", "1")
    assert "the champion (v1) is not known to be a demo's model (no `trained_by: cvp demo`" in kept
    assert "or by a `cvp demo` before this change" in kept and "cvp models promote" in kept
    assert demo_keeps_champion(mlflow.MlflowClient(), "customer-value", None) == ""
    demo_run = SimpleNamespace(data=SimpleNamespace(params={DEMO_PARAM: DEMO_TRAINER}))
    earlier_demo = SimpleNamespace(
        get_model_version=lambda name, version: SimpleNamespace(run_id="r"), get_run=lambda run_id: demo_run
    )
    assert demo_keeps_champion(earlier_demo, "customer-value", "1") == ""  # an earlier demo's model: compared

    # the demo's training is the one that says so (stopped before the fit: no model is trained here)
    import pipelines.train
    from pipelines.jobs import run_demo

    seen: dict = {}

    def stop(*args, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop before the fit")

    monkeypatch.setattr(pipelines.train, "train_and_register", stop)
    config = tmp_path / "demo.yaml"
    config.write_text(
        yaml.safe_dump({"demo": {"customers": 100}, "mlflow": {"tracking_dir": str(tmp_path / "m")}})
    )
    with pytest.raises(RuntimeError, match="stop before the fit"):
        run_demo(tmp_path / "demo", config, quiet())
    assert seen.get("demo") is True


def test_a_run_whose_history_got_another_run_while_it_scored_is_not_added(december_history, tmp_path):
    """Two `cvp score --history H` at once (a backfill loop run in parallel): the January run read H before the
    December run was appended, so its stable tiers were held over no earlier run; it was appended all the same,
    exit 0, and every later `cvp report --history H` of its scores stopped ("held by the stability rule over other
    runs than this history holds"), the scores `cvp score --history` had written into H (was). Now the append
    checks, under the history's lock, that the runs before it are the ones its tiers read, and stops (exit 2)
    saying another run was added meanwhile; a run that read them is added, and so is a backfill."""
    import json

    import pandas as pd

    from features.validation import StructuralError
    from pipelines.history_append import append_run
    from pipelines.history_store import list_runs
    from pipelines.outputs import DIGESTS
    from tests.pipelines.conftest import history_after_december

    history = history_after_december(december_history, tmp_path)
    # the runs forged here publish no set of their own: their manifests record no digests (round 31's check)
    dec = json.loads((december_history / "dec.manifest.json").read_text())
    dec.pop(DIGESTS, None)
    scores = pd.read_parquet(december_history / "dec.parquet")
    december = pd.read_parquet(december_history / "dec.contributions.parquet")

    def contributions(run_id):  # the run's own files (the append checks their run id: round 30)
        path = tmp_path / f"{run_id}.contributions.parquet"
        december.assign(run_id=run_id).to_parquet(path, index=False)
        return path

    january = dec | {"as_of": "2025-01-01", "run_id": "jan", "stability_runs": {}}  # read H while empty
    with pytest.raises(
        StructuralError, match=r"another run was added to it while this one scored \(2024-12-01\)"
    ):
        append_run(history, scores, contributions("jan"), january)
    assert [r.as_of for r in list_runs(history)] == ["2024-12-01"]
    january["stability_runs"] = {"2024-12-01": dec["run_id"]}  # read the December run: added
    append_run(history, scores, contributions("jan"), january)
    backfill = dec | {"as_of": "2024-11-01", "run_id": "nov", "stability_runs": {}}  # before every run: added
    append_run(history, scores, contributions("nov"), backfill)
    assert [r.as_of for r in list_runs(history)] == ["2024-11-01", "2024-12-01", "2025-01-01"]


def test_a_run_appended_before_a_later_run_added_while_it_scored_says_so(december_history, tmp_path):
    """Two `cvp score --history H` at once, the later as-of appended first: the November run read H without the
    December run, was appended after it, exit 0 and silent; December's `cvp report --history H` then refused its
    scores (its stable tiers computed without November) (was). The manifest now records the later runs the
    scoring saw (`history_later`), and the append says December must be scored again, oldest first (November's
    own tiers read only earlier runs: it is added)."""
    import json

    from pipelines.history import unseen_later_runs
    from tests.pipelines.conftest import history_after_december

    history = history_after_december(december_history, tmp_path)
    dec = json.loads((december_history / "dec.manifest.json").read_text())
    november = dec | {"as_of": "2024-11-01", "run_id": "nov", "stability_runs": {}, "history_later": {}}
    (note,) = unseen_later_runs(history, november)
    assert "later runs (2024-12-01)" in note and "score them again, oldest first" in note
    november["history_later"] = {"2024-12-01": dec["run_id"]}  # saw December: its scoring said so already
    assert unseen_later_runs(history, november) == []


def test_a_model_the_demo_trained_is_warned_of_by_every_score_but_the_demo(trained, monkeypatch):
    """`cvp train` over a demo's champion kept the user's model challenger, and `cvp score` of the real customers
    used the demo company's model, exit 0, "model v2", nothing said (was). Now a model whose training run logged
    `trained_by: cvp demo` is warned of by `cvp score` (its manifest's `model_warnings`, so the model card), not
    by the demo's own scoring."""
    import dataclasses
    from types import SimpleNamespace

    import pandas as pd

    from pipelines.config import load_config
    from pipelines.engines.model_checks import check_model
    from pipelines.jobs import run_card_notes
    from pipelines.tracking import DEMO_PARAM, DEMO_TRAINER, _training_facts, load_bundle
    from pipelines.tracking_store import configure_tracking

    run = SimpleNamespace(
        info=SimpleNamespace(run_id="r", lifecycle_stage="active"),
        data=SimpleNamespace(params={DEMO_PARAM: DEMO_TRAINER}),
    )
    note = _training_facts("r", run)[2]  # what `load_bundle` gives its `LoadedModel`
    assert note and "trained by `cvp demo`" in note and "cvp models promote" in note
    run.data.params = {}
    assert _training_facts("r", run)[2] is None  # a model of `cvp train`: nothing said
    keep_mlflow_uris(monkeypatch)
    configure_tracking(trained.mlruns, reading=True)
    model = load_bundle("models:/customer-value@champion")
    assert model.trained_by_demo is None
    by_demo = dataclasses.replace(model, trained_by_demo=note)
    cfg, as_of = load_config(trained.config), pd.Timestamp(trained.as_of)
    warned: list[str] = []
    checked = check_model(model.bundle, cfg, as_of, None, False, warned.append, by_demo)
    assert note in warned and note in checked.model_warnings
    assert note in run_card_notes({"model_warnings": list(checked.model_warnings)})["model_warnings"]
    warned.clear()
    checked = check_model(model.bundle, cfg, as_of, None, False, warned.append, by_demo, demo=True)
    assert note not in warned and note not in checked.model_warnings  # `cvp demo` scoring its own model


def test_the_training_wires_the_demo_rule_and_its_param(trained, tmp_path, monkeypatch):
    """`train_and_register` itself (the fit, the backtest and the registration stubbed: no model trained): a
    demo's training logs `trained_by: cvp demo` and, over a champion not known to be a demo's, is registered
    as challenger without refitting the champion's settings on the demo's folds; `cvp train` over a demo's
    champion kept as challenger says so with `cvp models promote N` (was: the demo branch and the param could
    be deleted with every test passing; the champion refitted for nothing; nothing said)."""
    import pandas as pd

    import pipelines.train as train
    from models.backtest import BacktestResult
    from models.bundle import CustomerValueModel
    from pipelines.config import load_config
    from pipelines.loading import load_configured
    from pipelines.mlflow_import import mlflow
    from pipelines.tracking import DEMO_PARAM, DEMO_TRAINER
    from pipelines.tracking_store import configure_tracking
    from tests.pipelines.conftest import clone_registry

    keep_mlflow_uris(monkeypatch)
    cfg = load_config(clone_registry(trained, tmp_path))  # a copy of the fixture's registry: v1 champion
    tables = load_configured(trained.data, None, cfg).tables
    seen: dict = {}

    def backtest(tables, as_of, cfg, console, customers, candidates):
        seen["candidates"] = sorted(candidates)
        empty = pd.DataFrame(columns=["fold", "cutoff", "model", "metric", "value"])
        return BacktestResult(empty, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), [])

    def register(
        experiment_id, name, bundle, example, params, documents, metrics, files, alias, reason, **kw
    ):
        seen["params"] = params
        return "run", "2", alias, reason

    monkeypatch.setattr(CustomerValueModel, "fit", lambda self, training, **kw: self)
    monkeypatch.setattr(CustomerValueModel, "feature_names", [])
    monkeypatch.setattr(train, "_rolling_origin", backtest)
    monkeypatch.setattr(train, "write_backtest", lambda result, out: {})
    monkeypatch.setattr(train, "log_training_run", register)
    monkeypatch.setattr("pipelines.profile.lookalike_run_metrics", lambda *a: ({}, {}))
    as_of = pd.Timestamp(trained.as_of)
    result = train.train_and_register(tables, cfg, as_of, quiet(), demo=True)
    assert seen["params"][DEMO_PARAM] == DEMO_TRAINER
    assert "is not known to be a demo's model" in result.reason and result.alias == "challenger"
    assert seen["candidates"] == ["model"]  # the champion's settings not refitted on the demo's folds

    configure_tracking(cfg.mlflow.tracking_dir)  # now v1 is a demo's model (as a `cvp demo` would log it)
    client = mlflow.MlflowClient()
    client.log_param(client.get_model_version("customer-value", "1").run_id, DEMO_PARAM, DEMO_TRAINER)
    result = train.train_and_register(tables, cfg, as_of, quiet())
    assert DEMO_PARAM not in seen["params"] and seen["candidates"] == ["champion", "model"]
    assert "the champion (v1) is the demo company's model (trained by `cvp demo`)" in result.reason
    assert "`cvp models promote 2`" in result.reason
