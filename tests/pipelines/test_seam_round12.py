"""Round 12 of the train/score seam: what still let a wrong result through with exit 0, lost work, or confused one
of the three users (data scientist, unattended batch job, account manager).

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from features.validation import StructuralError
from tests.pipelines.conftest import empty_registry


def _runs(mlruns: Path) -> int:
    db = sqlite3.connect(mlruns / "mlflow.db")
    with contextlib.closing(db):
        return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])


def test_train_whose_artefact_folder_cannot_be_written_stops_before_the_fit(trained, tmp_path, monkeypatch):
    """The store's database took writes while its artefact folder did not (a file in its way here; read-only,
    another user's or a full disk elsewhere): `cvp train` built its training set, fitted and backtested, then
    failed at its first artefact with exit 1 `unexpected NotADirectoryError` (was). Now the folder is asked for a
    file before the fit (`pipelines.store_errors.check_artifacts_writable`): exit 2 naming it, nothing logged."""
    import pipelines.train
    from tests.helpers import cvp, keep_mlflow_uris
    from tests.pipelines.conftest import clone_registry

    keep_mlflow_uris(monkeypatch)
    config = clone_registry(trained, tmp_path)
    artifacts = tmp_path / "mlruns" / "artifacts"
    artifacts.rename(tmp_path / "artifacts-elsewhere")
    artifacts.write_text("not a folder")
    before = _runs(tmp_path / "mlruns")

    def fit_reached(*args, **kwargs):
        raise RuntimeError("the training set was built: the fit was under way")

    monkeypatch.setattr(pipelines.train, "build_training_set", fit_reached)
    res = cvp("train", "--data", trained.data, "--as-of", trained.as_of, "--config", config)
    assert res.exit_code == 2, res.output
    assert f"the MLflow artefact folder {artifacts.resolve()} cannot be written (a file is in its way)" in (
        " ".join(res.output.split())
    )
    assert "fit was under way" not in res.output
    assert _runs(tmp_path / "mlruns") == before
    assert artifacts.read_text() == "not a folder"


class _Bundle:
    """The least a logged model needs here: `predict` for its signature."""

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"value": frame["x"] * 2.0})


def _log(experiment: str, name: str, alias: str = "champion", compared_with: str | None = None):
    from pipelines.tracking_runs import log_training_run

    example = pd.DataFrame({"x": [1.0, 2.0]})
    return log_training_run(
        experiment, name, _Bundle(), example, {"p": 1}, {"d.json": {}}, {"m": 1.0}, [], alias, "better",
        compared_with, False,
    )  # fmt: skip


def test_a_training_failing_between_registering_and_its_promotion_leaves_no_usable_version(
    new_store, tmp_path, monkeypatch
):
    """A training whose registry call failed after its version was registered (the alias moved, its `promotion`
    tag refused: the store full, a server gone) left the version untagged until the next training's sweep, and
    `@champion` on it with no promotion record (was). Now the failing training itself tags the version
    `cvp.status=incomplete` and gives `@champion` back to the version it named: `cvp score` keeps scoring v1, and
    `cvp models promote 2` is refused; `cvp models` lists it as incomplete (was: a blank alias); its run's
    model is refused by `--model runs:/...` (was: loaded)."""
    import mlflow

    import pipelines.tracking_runs as runs
    from pipelines.config import load_config
    from pipelines.registry import list_versions, promote_version, run_models, versions_json
    from pipelines.tracking import current_champion, load_bundle
    from pipelines.tracking_store import configure_tracking, ensure_experiment
    from tests.helpers import keep_mlflow_uris, quiet

    keep_mlflow_uris(monkeypatch)
    tracking = tmp_path / "mlruns"
    empty_registry(
        new_store, tracking
    )  # MLflow's new store, made once per session (not its ~70 migrations again)
    configure_tracking(tracking)
    experiment = ensure_experiment("cvp-half", tracking)
    assert _log(experiment, "cv-half")[1:3] == ("1", "champion")
    v1 = mlflow.MlflowClient().get_model_version("cv-half", "1")
    record = runs.record_promotion

    def alias_then_fail(client, name, version, alias, reason, run_id):
        client.set_registered_model_alias(name, alias, version)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runs, "record_promotion", alias_then_fail)
    with pytest.raises(OSError, match="No space left"):
        _log(experiment, "cv-half", compared_with="1")
    monkeypatch.setattr(runs, "record_promotion", record)
    client = mlflow.MlflowClient()
    v2 = client.get_model_version("cv-half", "2")
    assert v2.tags.get("cvp.status") == "incomplete", v2.tags
    assert current_champion("cv-half") == "1"
    assert client.get_run(v2.run_id).info.status == "FAILED"
    with pytest.raises(StructuralError, match=r"from a `cvp train` run that failed before its model was"):
        load_bundle(f"runs:/{v2.run_id}/model")  # was: loaded, as a model of a finished training
    assert load_bundle(f"runs:/{v1.run_id}/model").version is None  # a finished training's run still loads
    config = tmp_path / "config.yaml"
    config.write_text(f"mlflow: {{tracking_dir: {tracking}, registered_model: cv-half}}\n")
    with pytest.raises(StructuralError, match="version 2 of cv-half is incomplete"):
        promote_version("2", config, None, quiet())
    console = quiet()
    run_models(config, None, console)  # was: v2 listed with a blank alias, as a usable version
    assert re.search(r"^2\s+incomplete\s", console.file.getvalue(), re.M), console.file.getvalue()
    listed = json.loads(versions_json(list_versions(config, None)[1], load_config(config)))["versions"]
    assert [v["status"] for v in listed] == [None, "incomplete"]


def test_a_training_whose_files_fill_the_disk_is_exit_2_and_registers_nothing(
    new_store, tmp_path, monkeypatch
):
    """The artefact folder filling up while the run logs (after the probe) was exit 1 `unexpected OSError` with a
    traceback log (was). Now exit 2 naming the store and the run, marked FAILED, and no version registered."""
    import mlflow

    from pipelines.tracking_store import configure_tracking, ensure_experiment
    from tests.helpers import keep_mlflow_uris

    keep_mlflow_uris(monkeypatch)
    tracking = tmp_path / "mlruns"
    empty_registry(
        new_store, tracking
    )  # MLflow's new store, made once per session (not its ~70 migrations again)
    configure_tracking(tracking)
    experiment = ensure_experiment("cvp-full", tracking)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tracking / "artifacts" / "x" / "d.json"))

    monkeypatch.setattr(mlflow, "log_dict", full)
    with pytest.raises(
        StructuralError, match=r"could not be written to the MLflow artefact store \(No space"
    ):
        _log(experiment, "cv-full")
    client = mlflow.MlflowClient()
    assert client.search_model_versions("name = 'cv-full'") == []
    (run,) = client.search_runs([experiment])
    assert run.info.status == "FAILED"


def test_models_promote_refuses_a_version_whose_files_are_gone(trained, tmp_path, monkeypatch):
    """`cvp models promote 2` of a version whose files were deleted (a cleaned artefact store) moved `@champion`
    to it with exit 0, and the nightly `cvp score` then stopped on it (was). Now exit 2 saying its files cannot be
    read, and `@champion` stays on version 1; `cvp models` lists it as `files missing`."""
    import mlflow

    from pipelines.tracking import current_champion
    from pipelines.tracking_store import configure_tracking
    from tests.helpers import cvp, keep_mlflow_uris
    from tests.pipelines.conftest import clone_registry

    keep_mlflow_uris(monkeypatch)
    config = clone_registry(trained, tmp_path)
    configure_tracking(tmp_path / "mlruns")
    client = mlflow.MlflowClient()
    v1 = client.get_model_version("customer-value", "1")
    gone = tmp_path / "deleted-model"
    v2 = client.create_model_version("customer-value", gone.as_uri(), run_id=v1.run_id)
    assert str(v2.version) == "2"
    res = cvp("models", "promote", "2", "--config", config)
    assert res.exit_code == 2, res.output
    assert "version 2 of customer-value cannot be made champion: its files cannot be read" in (
        " ".join(res.output.split())
    )
    assert current_champion("customer-value") == "1"
    listed = cvp("models", "--config", config)  # was: listed as any version without an alias
    assert re.search(r"^2\s+files missing\s", listed.output, re.M), listed.output
    assert re.search(r"^1\s+champion\s", listed.output, re.M), listed.output


def test_scores_of_data_that_ended_months_before_the_as_of_say_so_to_the_job_and_on_every_page(
    trained, tmp_path
):
    """The fixture's data ends on 2024-12-30; scored as of 2025-04-01 every customer read three months without an
    order (churn risk up, value down, more lapsed), with exit 0 and no word of it but a drift list (was: only data
    ending more than `labels.max_lapse_days`, two years, before the as-of was said). Now a warning of the run (in
    the manifest's `warnings` and `stale_data`, with the as-of that reads the data as it ends), the model card's
    row, and a banner atop the team page and every manager page; within `labels.max_days_past_data` nothing."""
    import re

    from tests.helpers import cvp
    from tests.pipelines.score_helpers import score_trained

    out = tmp_path / "scores.parquet"
    run = score_trained(trained, out, as_of_text="2025-04-01")
    said = "the data ends on 2024-12-30 (its last order), 91 days before --as-of 2025-04-01"
    assert run.manifest["stale_data"].startswith(said), run.manifest["stale_data"]
    assert "score with --as-of 2024-12-31 (the data as it ends)" in run.manifest["stale_data"]
    assert [w for w in run.manifest["warnings"] if w.startswith(said)], run.manifest["warnings"]
    res = cvp("report", "--scores", out, "--out", tmp_path / "site", "--config", trained.config)
    assert res.exit_code == 0, res.output
    pages = sorted((tmp_path / "site").glob("*.html"))
    assert len(pages) > 2
    for page in pages:
        text = " ".join(re.sub(r"<[^>]+>", " ", page.read_text()).split())
        assert "Old data: these scores read data that ends well before their date (2025-04-01)" in text, page
    team = " ".join(re.sub(r"<[^>]+>", " ", (tmp_path / "site" / "index.html").read_text()).split())
    assert f"Stale data {said}" in team
    fresh = score_trained(
        trained, tmp_path / "fresh.parquet", as_of_text="2025-01-10"
    )  # 10 quiet days: normal
    assert fresh.manifest["stale_data"] is None
    assert not [w for w in fresh.manifest["warnings"] if "the data ends on" in w]


def test_models_promote_says_when_the_champions_horizon_changes(trained, tmp_path, monkeypatch):
    """`cvp models promote 2` of a 90-day model over the 365-day champion said only "now champion" (was): the
    nightly scores' columns became `pred_*_90d` and a score history's next run was refused for mixing horizons,
    with no word at the promotion. Now a warning names both horizons and what changes."""
    import mlflow

    from pipelines.tracking import current_champion
    from pipelines.tracking_store import configure_tracking
    from tests.helpers import cvp, keep_mlflow_uris
    from tests.pipelines.conftest import clone_registry

    keep_mlflow_uris(monkeypatch)
    config = clone_registry(trained, tmp_path)
    configure_tracking(tmp_path / "mlruns")
    client = mlflow.MlflowClient()
    v1 = client.get_model_version("customer-value", "1")
    assert client.get_run(v1.run_id).data.params["horizon_days"] == "365"
    run = client.create_run(client.get_run(v1.run_id).info.experiment_id)
    client.log_param(run.info.run_id, "horizon_days", "90")
    client.set_terminated(run.info.run_id)
    client.create_model_version("customer-value", v1.source, run_id=run.info.run_id)  # v2: 90 days (its run)
    res = cvp("models", "promote", "2", "--config", config)
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "version 2 predicts 90 days, the champion it replaced (v1) 365" in said, said
    assert "writes pred_*_90d columns instead of pred_*_365d" in said
    assert current_champion("customer-value") == "2"
    res = cvp("models", "promote", "1", "--config", config)  # back: said again
    assert "version 1 predicts 365 days, the champion it replaced (v2) 90" in " ".join(res.output.split())


def test_a_manager_page_holds_the_customers_assigned_on_the_scores_date_and_says_so(
    trained, default_scores, tmp_path
):
    """Customers reassigned after a scoring run: the pages follow the scores' `account_manager_id` (a newer export
    given with --data is refused by its fingerprint), yet a manager page said only "scores as of", and a manager
    reading it after a reassignment took the list for today's (was). Now each manager page holds exactly the
    customers the scores assign to that manager and says they are those assigned on the scores' date."""
    import re

    import pandas as pd

    from tests.helpers import cvp

    scores = pd.read_parquet(default_scores.out)
    res = cvp(
        "report", "--scores", default_scores.out, "--out", tmp_path / "site", "--config", trained.config
    )
    assert res.exit_code == 0, res.output
    checked = 0
    for mid, theirs in scores.dropna(subset=["account_manager_id"]).groupby("account_manager_id"):
        page = tmp_path / "site" / f"manager-{mid}.html"
        html = page.read_text()
        text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
        assert "the customers assigned to this account manager on 2025-01-01" in text, page
        listed = set(re.findall(r"\bC\d{6}\b", text))
        assert listed and listed <= set(theirs["customer_id"].astype(str)), page
        checked += 1
    assert checked > 2


def test_a_training_config_digest_is_the_same_in_another_store_and_changes_with_a_setting():
    """A training run's `config_digest` param digested the whole configuration, where it is logged included: the
    same training in another store or experiment got another digest, read as "another configuration". Now a
    place is not a setting (`pipelines.run_identity.training_digest`); a setting the training reads changes it."""
    from pipelines.backtest_record import modelling_params
    from pipelines.config import load_config

    as_of = pd.Timestamp("2025-01-01")
    no_orders = {
        "orders": pd.DataFrame({"order_id": [], "customer_id": [], "ordered_at": pd.to_datetime([])})
    }

    def digest(over):
        return modelling_params(load_config(None, over), as_of, None, no_orders)["config_digest"]

    here = digest(None)
    assert digest({"mlflow": {"tracking_dir": "/elsewhere/mlruns", "experiment": "another"}}) == here
    assert digest({"models": {"backtest_folds": 2}}) != here
    assert digest({"labels": {"horizon_days": 90}}) != here
    assert digest({"mlflow": {"registered_model": "another-name"}}) != here  # its champion is compared with


def test_a_run_of_stale_data_is_kept_in_the_history_marked_and_read_by_no_later_stable_tier(
    trained, december_history, tmp_path
):
    """A run scored months after its data ended (warned: `pipelines.data_age`) entered `--history` like any
    other, and the next runs' stable tiers read its tiers (customers quiet for want of data held as `problem` or
    kept down by the margin rule). Now it is kept and marked (run.json's `stale_data`, `cvp history`'s as-of),
    the stability rule of later runs skips it, and their manifest's `history_notes` say so; `cvp report
    --history` takes their scores."""
    from pipelines.history_append import append_run
    from tests.helpers import cvp, scores_manifest
    from tests.pipelines.conftest import history_after_december
    from tests.pipelines.score_helpers import score_trained

    history = history_after_december(december_history, tmp_path)  # its run as of 2024-12-01
    runs = {}
    for as_of, name in (("2025-02-15", "feb"), ("2025-03-01", "mar")):
        runs[name] = score_trained(trained, tmp_path / f"{name}.parquet", as_of_text=as_of, history=history)
        append_run(history, runs[name].scores, runs[name].contributions_path, runs[name].manifest)
    fresh, stale, later = scores_manifest(december_history / "dec.parquet"), runs["feb"], runs["mar"]
    assert fresh["stale_data"] is None and stale.manifest["stale_data"]
    run_file = json.loads((history / "as_of=2025-02-15" / "run.json").read_text())
    assert run_file["stale_data"] == stale.manifest["stale_data"]
    assert later.manifest["stability_runs"] == {"2024-12-01": fresh["run_id"]}
    (note,) = [n for n in later.manifest["history_notes"] if "stale data" in n]
    assert "runs as of 2025-02-15 scored stale data" in note
    res = cvp("history", "--history", history)
    assert res.exit_code == 0, res.output
    assert "2025-02-15 (stale data)" in res.output and "2024-12-01 (stale data)" not in res.output
    res = cvp("report", "--scores", tmp_path / "mar.parquet", "--history", history, "--out", tmp_path / "site",
              "--config", trained.config)  # fmt: skip
    assert res.exit_code == 0, res.output


def test_data_whose_orders_pause_while_other_tables_run_to_the_as_of_is_not_stale():
    """A firm closed three weeks at Christmas, or a B2B seller ordering monthly, scored with `--as-of` today: its
    last order is weeks old but its tickets and invoices run up to the as-of. It was warned stale (judged from
    the last order only), "Old data" on every page and kept out of later stable tiers. Now the data's end is its
    latest dated event of any table before the as-of: stale only when every table ends early, and then named
    by that event; events on or after the as-of are not read."""
    from pipelines.config import load_config
    from pipelines.data_age import check_data_age

    labels = load_config(None).labels  # max_days_past_data 14
    orders = pd.DataFrame(
        {"customer_id": ["C1", "C2"], "ordered_at": pd.to_datetime(["2024-11-20", "2024-12-03"])}
    )
    tickets = pd.DataFrame({"customer_id": ["C1"], "opened_at": pd.to_datetime(["2024-12-30"])})
    invoices = pd.DataFrame({"customer_id": ["C2"], "issued_at": pd.to_datetime(["2024-12-10"])})
    as_of = pd.Timestamp("2025-01-01")
    warned: list[str] = []
    tables = {"orders": orders, "tickets": tickets, "invoices": invoices}
    assert check_data_age(tables, as_of, labels, False, warned.append) is None  # was: 28 days, stale
    assert warned == []
    # every table ends early (a ticket dated on the as-of is not read): stale, from the latest event
    early = {**tables, "tickets": tickets.assign(opened_at=pd.to_datetime(["2025-01-01"]))}
    stale = check_data_age(early, as_of, labels, False, warned.append)
    assert stale is not None and stale.startswith(
        "the data ends on 2024-12-10 (its latest event, invoices.issued_at; the last order 2024-12-03), 21 days "
        "before --as-of 2025-01-01"
    ), stale
    assert (
        check_data_age(early, pd.Timestamp("2025-01-02"), labels, False, warned.append) is None
    )  # read then
    assert warned == [stale]
    assert "score with --as-of 2024-12-11 (the data as it ends)" in stale


def test_moves_since_the_last_run_skip_a_stale_run_and_its_note_is_said_once(trained, history_runs, tmp_path):
    """A run of stale data before this one: the stable tiers skipped it, yet `cvp report --history` counted the
    moves "since the last run" against its tiers (customers quiet for want of data), and every later run's
    `history_notes` named every stale run ever (the note growing with the history). Now the previous run of the
    transitions is the one the stability rule reads last (`history_store.tier_runs`), and the note names only
    the stale runs since it. The run of 2024-12-01 is marked stale as `cvp score` would have marked it (an export
    cut short: this fixture's one export ends on 2024-12-30): its `run.json` says so as `append_run` writes a
    manifest's `stale_data`. The runs of 2024-11-01 and 2024-12-01 are the `history_runs` fixture's (the same
    data, config and as-ofs; was: scored again here)."""
    import shutil

    from pipelines.history import history_notes
    from pipelines.history_append import append_run
    from pipelines.history_store import list_runs
    from pipelines.io import write_json
    from tests.helpers import cvp
    from tests.pipelines.score_helpers import score_trained

    history = tmp_path / "history"
    shutil.copytree(history_runs[1], history, ignore=shutil.ignore_patterns("as_of=2025-01-01"))
    assert [r.as_of for r in list_runs(history)] == ["2024-11-01", "2024-12-01"]
    stale = "the data ends on 2024-10-01 (its last order), 60 days before --as-of 2024-12-01"
    marked = history / "as_of=2024-12-01" / "run.json"
    info = json.loads(marked.read_text())
    assert info["stale_data"] is None
    write_json(info | {"stale_data": stale}, marked)  # as `append_run` writes it
    as_of = "2025-01-10"
    run = score_trained(trained, tmp_path / f"{as_of}.parquet", as_of_text=as_of, history=history)
    append_run(history, run.scores, run.contributions_path, run.manifest)
    assert run.manifest["stability_runs"] == {"2024-11-01": run.manifest["stability_runs"]["2024-11-01"]}
    assert [n for n in run.manifest["history_notes"] if "runs as of 2024-12-01 scored stale data" in n]
    rule = run.manifest["run_policy"]["tiers"]["stability"]["rule"]
    assert rule != "none"
    later = history_notes(history, "2025-01-12", None, rule)
    assert not [n for n in later if "stale data" in n], later  # was: 2024-12-01 named by every later run
    res = cvp("report", "--scores", tmp_path / "2025-01-10.parquet", "--history", history, "--out",
              tmp_path / "site", "--config", trained.config)  # fmt: skip
    assert res.exit_code == 0, res.output
    pages = [
        " ".join(re.sub(r"<[^>]+>", " ", p.read_text()).split()) for p in (tmp_path / "site").glob("*.html")
    ]
    assert [p for p in pages if "since the run of 2024-11-01" in p]
    assert not [p for p in pages if "since the run of 2024-12-01" in p]  # was: the moves since the stale run


def test_models_listing_says_what_its_sweep_of_a_killed_training_did(new_store, tmp_path, monkeypatch):
    """`cvp models` (a listing) sweeps what a training killed mid-way left: it tags the version incomplete and
    marks the run FAILED, and said nothing of it (was: the notes dropped). Now it prints them as `cvp train`
    does; with `--json` on the notes' console (stderr), the JSON alone on stdout."""
    import mlflow

    import pipelines.tracking_runs as runs
    from pipelines.registry import run_models
    from pipelines.tracking_store import configure_tracking, ensure_experiment
    from tests.helpers import keep_mlflow_uris, quiet

    keep_mlflow_uris(monkeypatch)
    tracking = tmp_path / "mlruns"
    empty_registry(
        new_store, tracking
    )  # MLflow's new store, made once per session (not its ~70 migrations again)
    configure_tracking(tracking)
    experiment = ensure_experiment("cvp-swept", tracking)
    _log(experiment, "cv-swept")
    record = runs.record_promotion

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runs, "record_promotion", fail)
    with pytest.raises(OSError, match="No space left"):
        _log(experiment, "cv-swept", compared_with="1")
    monkeypatch.setattr(runs, "record_promotion", record)
    client = mlflow.MlflowClient()
    client.delete_model_version_tag("cv-swept", "2", "cvp.status")  # as if killed before tagging it
    config = tmp_path / "config.yaml"
    config.write_text(f"mlflow: {{tracking_dir: {tracking}, registered_model: cv-swept}}\n")
    console = quiet()
    run_models(config, None, console)
    said = console.file.getvalue()
    assert "note: version 2 of cv-swept was registered by a training that died before promoting" in said, said
    assert re.search(r"^2\s+incomplete\s", said, re.M), said
    client.delete_model_version_tag("cv-swept", "2", "cvp.status")  # swept again by the JSON listing
    console, notes = quiet(), quiet()
    run_models(config, None, console, as_json=True, notes=notes)
    assert "note: version 2 of cv-swept was registered by a training" in notes.file.getvalue()
    assert json.loads(console.file.getvalue())["versions"][1]["status"] == "incomplete"
