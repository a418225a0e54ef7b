"""Round 30 of the train/score seam: what still let a wrong result through with exit 0, or said nothing of it.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

from tests.helpers import second_version


def _as_trained(monkeypatch, by_version):
    """`load_bundle` giving version N's model with the attributes `by_version[N]` (a dict, read at each load) set on
    a copy of its bundle: the fixture's one model standing for models trained otherwise."""
    import copy
    import dataclasses

    import pipelines.tracking as tracking

    real = tracking.load_bundle

    def load(uri, *args, **kwargs):
        loaded = real(uri, *args, **kwargs)
        bundle = copy.copy(loaded.bundle)
        for key, value in by_version.get(loaded.version, {}).items():
            setattr(bundle, key, value(bundle) if callable(value) else value)
        return dataclasses.replace(loaded, bundle=bundle)

    monkeypatch.setattr(tracking, "load_bundle", load)


def test_a_library_upgraded_since_training_is_said(default_scores):
    """`pip install -U scikit-learn` (or lightgbm, pandas, ...) between `cvp train` and `cvp score`: the model's
    pickled calibrators and boosters were unpickled by another version and its features computed by another pandas,
    scikit-learn's own version warning silenced by the model's loading; the run said nothing (was: the model
    recorded the package's version and our code's sha256 only). Now the model records the libraries' versions and
    every run compares them (`code_version.code_difference`, one rule with our code's: a warning, `--strict`
    refuses); a model registered before they were recorded is judged on our code alone."""
    import sklearn

    from pipelines.code_version import code_difference

    recorded = default_scores.run.manifest["model_settings"]["data"]["code"]
    assert recorded.get("scikit-learn") == sklearn.__version__  # was: not recorded
    assert default_scores.run.manifest["code_difference"] is None
    now = recorded | {"scikit-learn": "99.0.0"}
    said = code_difference(recorded, now)
    assert (
        said is not None
        and f"other libraries than this run's (scikit-learn {sklearn.__version__} then 99.0.0)" in said
    )
    assert "code sha256" not in said  # only what changed is named
    from pipelines.code_version import LIBRARIES

    older = {k: v for k, v in recorded.items() if k not in LIBRARIES}
    assert code_difference(older, now) is None


def test_a_library_upgraded_since_training_is_said_by_the_run(
    trained, other_code_scores, tmp_path, monkeypatch
):
    """The scoring path of the case above (review of round 30: only `code_difference` was called): numpy 1.0.0 in
    this installation, the model trained under another; `--strict` refuses before the data is read, naming it;
    without `--strict` the run scores and its manifest's warnings hold it (the session's `other_code_scores`:
    numpy 1.0.0, and the feature code of `test_seam_round8b.py`)."""
    import numpy
    import pytest

    import pipelines.code_version as code
    from features.errors import StructuralError
    from tests.pipelines.score_helpers import score_trained

    now = code.code_version()
    monkeypatch.setattr(code, "code_version", lambda: now | {"numpy": "1.0.0"})
    said = f"other libraries than this run's (numpy {numpy.__version__} then 1.0.0)"
    with pytest.raises(StructuralError, match=r"--strict refuses") as refused:
        score_trained(trained, tmp_path / "strict" / "scores.parquet", strict=True)
    assert said in str(refused.value)
    assert not (tmp_path / "strict" / "scores.parquet").exists()
    run, _ = other_code_scores
    assert run.manifest["code_difference"] and said in run.manifest["code_difference"]
    assert any(said in w for w in run.manifest["warnings"]), run.manifest["warnings"]


def test_a_report_says_its_models_version_was_deleted_since(trained, default_scores, tmp_path, monkeypatch):
    """The version that made a run's scores deleted from the registry since (found wrong, `mlflow` or the UI), no
    champion left: `cvp report`'s model card showed "Version 1" as when it scored, not a word (was: README known
    limits). Now the card says it was deleted and that no `cvp score` can use it again; while it is registered,
    nothing."""
    from pipelines.config import load_config
    from pipelines.tracking_card import model_card

    config, client = second_version(trained, tmp_path, monkeypatch)
    cfg = load_config(config)
    manifest = default_scores.run.manifest
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    args = ("1", cfg, 365, None, manifest["model_run_id"], uri, "models:/customer-value@champion")
    assert "model_deleted" not in model_card(*args)
    client.delete_registered_model_alias("customer-value", "champion")
    client.delete_model_version("customer-value", "1")
    card = model_card(*args)
    assert "version 1 of customer-value, which made these scores, was deleted from the registry since" in (
        card.get("model_deleted") or ""
    ), card  # was: no such fact
    assert "champion_now_version" not in card  # no champion now: no banner of a replacement either


def test_models_promote_judges_the_mapping_against_the_champions(trained, tmp_path, monkeypatch):
    """`cvp models promote 2` of a version trained through another `--mapping` than the champion's (another
    schema of the company's export), without `--config`: promoted, exit 0, not a word (was: "the mapping is not
    judged"); the next `cvp score` with the champion's mapping warned "mapping (sha256): model ..., run ...", its
    features read through a mapping the model never saw. Now the promotion says it, as `cvp score` would (one rule:
    `resolve_settings`), naming the champion's mapping; a version of the champion's mapping gets no such line."""
    from tests.helpers import cvp

    second_version(trained, tmp_path, monkeypatch)
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    trained_through = {"2": {"mapping_digest": "a" * 64}}
    _as_trained(monkeypatch, trained_through)
    res = cvp("models", "promote", "2", "--tracking-uri", uri)
    said = " ".join(res.output.split())
    assert res.exit_code == 0, said
    assert "version 2's settings differ from the champion's (v1;" in said, said  # was: not a word
    assert "mapping (sha256): model aaaaaaaaaaaa, champion v1 none" in said, said
    res = cvp(
        "models", "promote", "1", "--tracking-uri", uri
    )  # back to v1: v2's mapping is the champion's now
    assert "mapping (sha256): model none, champion v2 aaaaaaaaaaaa" in " ".join(res.output.split())
    trained_through.clear()  # the champion's mapping
    res = cvp("models", "promote", "2", "--tracking-uri", uri)
    assert res.exit_code == 0 and "mapping" not in res.output, res.output


def test_models_promote_says_other_code_than_this_installations(trained, tmp_path, monkeypatch):
    """A version trained before an upgrade of the product or its libraries, promoted: not a word (was); every
    `cvp score` of it then warned that other code trained it. Now the promotion says so, as it says the other
    warnings every run of the model repeats."""
    import pipelines.code_version as code
    from tests.helpers import cvp

    second_version(trained, tmp_path, monkeypatch)
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    now = code.code_version()
    monkeypatch.setattr(code, "code_version", lambda: now | {"features_sha256": "0" * 64})
    res = cvp("models", "promote", "2", "--tracking-uri", uri)
    said = " ".join(res.output.split())
    assert res.exit_code == 0, said
    assert (
        "scored with this installation's code and libraries, every `cvp score` of it warns: the model was trained "
        "with other feature or model code"
    ) in said, said


def test_a_run_added_to_the_history_while_one_scores_is_not_read_under_its_id(
    history_runs, trained, tmp_path, monkeypatch
):
    """Two `cvp score --history H` at once: the January run read the history (November only) for its run id and
    bridge, then the December run was appended by the other job, and January's stable tiers read it: exit 0, its
    manifest's `stability_runs` naming December under a run id that names November only, so another set of tiers
    under the id the run without December has (was: seen on the demo, great 114 then 113 under one run id). Now
    the run is refused when the history's runs before its as-of are not those its id was fixed on
    (`history.apply_stability`, `seen`), nothing published; scored again, it reads both under its own id."""
    import shutil

    import pytest

    import pipelines.history as history_module
    from features.validation import StructuralError
    from tests.pipelines.score_helpers import score_trained

    _, history = history_runs
    h = tmp_path / "history"
    shutil.copytree(history, h, ignore=shutil.ignore_patterns("as_of=2024-12-01", "as_of=2025-01-01"))
    real = history_module.runs_before

    def read_then_another_job_appends(*args, **kwargs):
        seen = real(*args, **kwargs)
        shutil.copytree(history / "as_of=2024-12-01", h / "as_of=2024-12-01")  # the other job's append
        return seen

    monkeypatch.setattr(history_module, "runs_before", read_then_another_job_appends)
    out = tmp_path / "jan" / "scores.parquet"
    with pytest.raises(StructuralError, match="changed while this run scored .*2024-12-01.* score it again"):
        score_trained(trained, out, history=h)  # was: published, exit 0
    assert not out.exists()


def test_the_append_copies_no_other_runs_files(history_runs, tmp_path):
    """Two `cvp score --out O` at once, the first with `--history H`: it published its set, the second replaced
    the set, then the first was appended to H by copying the contributions from O: its partition held its scores
    and run.json beside the other run's contributions, exit 0 (was). Now the append checks the run id of every
    file it copied (`history_copy.check_copied_files`): refused, the history unchanged."""
    import shutil

    import pandas as pd
    import pytest

    from features.validation import StructuralError
    from pipelines.history_append import append_run
    from pipelines.history_store import list_runs
    from pipelines.outputs import read_output_set

    root, history = history_runs
    h = tmp_path / "history"
    shutil.copytree(history, h, ignore=shutil.ignore_patterns("as_of=2025-01-01"))
    published = read_output_set(root / "scores-2025-01-01.parquet", columns=[])
    scores = pd.read_parquet(history / "as_of=2025-01-01" / "scores.parquet")
    other = tmp_path / "out"  # the --out the other run published into meanwhile: its set, this run's name
    other.mkdir()
    for kind in ("contributions", "churn_contributions"):
        shutil.copyfile(root / f"scores-2024-12-01.{kind}.parquet", other / f"scores.{kind}.parquet")
    with pytest.raises(StructuralError, match="holds another run's files now .*score it again"):
        append_run(h, scores, other / "scores.contributions.parquet", published.manifest)  # was: added
    assert [r.as_of for r in list_runs(h)] == ["2024-11-01", "2024-12-01"]
    # the readers' rule (`outputs.other_runs`, review of round 30): a file without run ids is no run's (was: passed)
    own = pd.read_parquet(root / "scores-2025-01-01.contributions.parquet")
    own.drop(columns=["run_id"]).to_parquet(other / "scores.contributions.parquet")
    (other / "scores.churn_contributions.parquet").unlink()  # none: as a run without churn contributions
    with pytest.raises(StructuralError, match=r"contributions: run \(none\)"):
        append_run(h, scores, other / "scores.contributions.parquet", published.manifest)
    target = append_run(h, scores, root / "scores-2025-01-01.contributions.parquet", published.manifest)
    assert target.name == "as_of=2025-01-01"  # its own files: added


def test_a_report_reads_a_moved_registry_the_configuration_names(
    trained, default_scores, tmp_path, monkeypatch
):
    """The tracking store moved on disk after the run scored (`mv mlruns /srv/mlruns`, the config's
    `mlflow.tracking_dir` updated): `cvp report --config` of the run's scores read only the store its manifest
    recorded, "there is no tracking store at <the old path>": no training date, no backtest, no banner of a model
    replaced since on the pages (was). Now the configured store is read when the recorded one is gone, the card
    saying so; its training run (one id, one model) decides what the card shows, and the champion now is asked
    there too (`cvp profile`'s banners, `champion_now_of_run`)."""
    from pipelines.config import load_config
    from pipelines.tracking_card import champion_now_of_run, model_card
    from tests.helpers import keep_mlflow_uris
    from tests.pipelines.conftest import clone_registry

    keep_mlflow_uris(monkeypatch)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = load_config(clone_registry(trained, tmp_path / "moved"))  # the store's new place
    manifest = default_scores.run.manifest
    gone = f"sqlite:///{tmp_path / 'old' / 'mlflow.db'}"  # where the run's store was
    card = model_card("1", cfg, 365, None, manifest["model_run_id"], gone, "models:/customer-value@champion")
    assert card.get("trained_at"), card  # was: "unknown", "there is no tracking store at ..."
    assert "the model's training run is read from the configured store" in card["tracking_store"], card
    assert card.get("champion_now_version") == "1"
    assert champion_now_of_run(manifest | {"tracking_uri": gone}, cfg) == "1"  # was: None, not asked


def test_models_promote_says_the_inputs_the_champions_data_had_not(trained, tmp_path, monkeypatch):
    """`cvp models promote 2` of a version trained with a table (tickets) the champion's training data had not:
    promoted without a word (was: README known limits of round 29); if the nightly export lacks that table, every
    next `cvp score` stops (a model input missing). Now the promotion says which inputs the version needs beyond
    the champion's (`registry_contract.inputs_beyond`, held as `check_model_inputs` holds scoring data); a version
    of the champion's inputs gets no such line."""
    from tests.helpers import cvp

    second_version(trained, tmp_path, monkeypatch)
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"

    def without_tickets(bundle):
        data = dict(bundle.data_settings)
        data["input_columns"] = {t: c for t, c in data["input_columns"].items() if t != "tickets"}
        return data

    trained_on = {"1": {"data_settings": without_tickets}}
    _as_trained(monkeypatch, trained_on)
    res = cvp("models", "promote", "2", "--tracking-uri", uri)
    said = " ".join(res.output.split())
    assert res.exit_code == 0, said
    assert "version 2 was trained with table tickets, which the champion's (v1) training data had not" in said
    assert "every `cvp score` of it stops" in said, said  # was: not a word
    trained_on.clear()
    res = cvp("models", "promote", "1", "--tracking-uri", uri)
    assert res.exit_code == 0 and "training data had not" not in res.output, res.output

    # review of round 30: a column the version was trained with on a few rows (invoices.paid_at on 30%) and the
    # champion's data lacked stops every run as well (`check_model_inputs`); was: not listed (only columns on 50%+)
    def paid_at(share):
        def settings(bundle):
            data = dict(bundle.data_settings)
            invoices = {c: v for c, v in data["input_columns"]["invoices"].items() if c != "paid_at"}
            data["input_columns"] = data["input_columns"] | {
                "invoices": invoices | ({"paid_at": share} if share is not None else {})
            }
            return data

        return {"data_settings": settings}

    trained_on.update({"1": paid_at(None), "2": paid_at(0.3)})
    res = cvp("models", "promote", "2", "--tracking-uri", uri)
    said = " ".join(res.output.split())
    assert res.exit_code == 0, said
    assert (
        "version 2 was trained with invoices.paid_at, which the champion's (v1) training data had not" in said
    )


def test_the_promotions_inputs_rule_is_the_scoring_runs():
    """`registry_contract.inputs_beyond` (what `cvp models promote` says every run of a version stops on) and
    `check_model_inputs` (what stops a run) read one rule, `features.model_inputs.input_stops` (review of round
    30: was a looser copy listing only columns filled on 50%+ rows: a version trained with invoices.paid_at on 30%
    of rows, the champion's data without it, was promoted without a word and every later `cvp score` stopped)."""
    from types import SimpleNamespace

    import pandas as pd
    import pytest

    from features.errors import StructuralError
    from features.model_inputs import check_model_inputs, input_stops
    from pipelines.registry_contract import inputs_beyond

    def model(inputs):
        return SimpleNamespace(contract_settings=lambda: {"data": {"input_columns": inputs}})

    ours = {"invoices": {"disputed": 1.0, "paid_at": 0.3}, "orders": {"cost": 0.9}}
    champions = {"invoices": {"disputed": 1.0}, "orders": {"cost": 0.0}}
    assert input_stops(ours, champions) == ([], ["invoices.paid_at"], ["orders.cost"])
    assert inputs_beyond(model(ours), model(champions)) == ["invoices.paid_at", "orders.cost"]
    tables = {
        "invoices": pd.DataFrame({"disputed": [True, False]}),
        "orders": pd.DataFrame({"cost": [None, None]}),
    }
    with pytest.raises(StructuralError, match=r"column\(s\) invoices.paid_at, which this data lacks"):
        check_model_inputs(ours, tables, strict=False, present=champions)
    assert inputs_beyond(model(champions), model(ours)) == []


def test_an_unreadable_config_creates_no_output_nor_history(tmp_path):
    """`cvp score --config bad.yaml --out O/scores.parquet --history H`: exit 2 on the configuration, and O and an
    empty history H, marked as ours, were left behind (review of round 30: the outputs were checked, creating
    their directory, and the history opened before the configuration was read). Now the configuration is read
    first: nothing is created."""
    from tests.helpers import cvp

    bad = tmp_path / "bad.yaml"
    bad.write_text("::: not a setting\n")
    out, history = tmp_path / "o" / "scores.parquet", tmp_path / "h"
    res = cvp(
        "score", "--data", str(tmp_path / "data"), "--as-of", "2025-01-01", "--out", str(out),
        "--history", str(history), "--config", str(bad),
    )  # fmt: skip
    assert res.exit_code == 2 and "invalid configuration" in res.output, res.output
    assert not out.parent.exists() and not history.exists()  # was: both created, H marked
