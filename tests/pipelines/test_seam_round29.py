"""Round 29 of the train/score seam: what still let a wrong result through with exit 0, or two paths that should
agree did not.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import yaml

from tests.helpers import second_version


def _config_with(config, path, **sections):
    cfg = yaml.safe_load(config.read_text())
    for section, values in sections.items():
        cfg[section] = (cfg.get(section) or {}) | values
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_models_promote_refuses_a_version_every_cvp_score_would_stop_on(trained, tmp_path, monkeypatch):
    """`cvp models promote 2` of a model trained on EUR amounts, the configuration's data in USD: promoted, exit
    0, not a word; every next `cvp score` stopped (exit 2, "data.currency: the model was trained on amounts in
    EUR"). Now the promotion is refused with that reason (one rule: `scoring.contract_stop`), @champion
    unchanged; `--force` promotes it, saying what every run will do."""
    from pipelines.tracking import current_champion
    from tests.helpers import cvp

    config, _ = second_version(trained, tmp_path, monkeypatch)
    usd = _config_with(config, tmp_path / "usd.yaml", data={"currency": "USD"})
    res = cvp("models", "promote", "2", "--config", usd)
    said = " ".join(res.output.split())
    assert res.exit_code == 2, said  # was: 0
    assert "cannot be made champion" in said and "trained on amounts in EUR" in said, said
    assert "--force" in said
    assert current_champion("customer-value") == "1"
    res = cvp("models", "promote", "2", "--config", usd, "--force")
    said = " ".join(res.output.split())
    assert res.exit_code == 0, said
    assert "promoted by --force" in said and "trained on amounts in EUR" in said, said
    assert current_champion("customer-value") == "2"


def test_models_promote_says_the_settings_the_next_runs_take_from_the_model(trained, tmp_path, monkeypatch):
    """The configuration's horizon changed since the version's training: `cvp models promote` said
    nothing; the next `cvp score` warned that the model's settings replace the configuration's. Now the
    promotion says it, with the same differences; a configuration the model was trained with gets no such
    warning. A model `cvp demo` trained: what every `cvp score` of it warns, said at its promotion too."""
    from pipelines.tracking import DEMO_PARAM, DEMO_TRAINER
    from tests.helpers import cvp

    config, client = second_version(trained, tmp_path, monkeypatch)
    res = cvp("models", "promote", "2", "--config", config)
    assert res.exit_code == 0 and "settings differ" not in res.output, res.output
    changed = _config_with(config, tmp_path / "changed.yaml", labels={"horizon_days": 90})
    res = cvp("models", "promote", "1", "--config", changed)
    said = " ".join(res.output.split())
    assert res.exit_code == 0, said
    assert "version 1's settings differ from the configuration" in said, said  # was: not a word
    assert "labels.horizon_days: model 365, config 90" in said, said
    client.log_param(client.get_model_version("customer-value", "2").run_id, DEMO_PARAM, DEMO_TRAINER)
    res = cvp("models", "promote", "2", "--config", config)
    said = " ".join(res.output.split())
    assert (
        res.exit_code == 0 and "every `cvp score` of it warns: the model was trained by `cvp demo`" in said
    ), said


def test_a_run_a_challenger_scored_is_read_by_no_later_run(history_runs, trained, tmp_path):
    """A history's monthly runs, the 2024-12-01 one scored by a challenger (`cvp score --model-version 2`, its
    run.json's `champion_version` "1"): the next champion run's stable tiers held the challenger's tiers, its
    model change was bridged from the challenger's model, while `cvp history` only marked the run (was: README
    known limits of round 28). Now one rule (`history_store.tier_runs`, `off_production`) keeps such a run out of
    every later run's reading: the stable tiers and the bridge read the 2024-11-01 run, the champion's, and the
    run's notes say why; `cvp report --history` reads it so too."""
    import json
    import shutil

    import pandas as pd

    from pipelines.config import load_config
    from pipelines.history import apply_stability, bridge_source, history_notes, report_history
    from pipelines.outputs import read_output_set

    root, history = history_runs
    h = tmp_path / "history"
    shutil.copytree(history, h)
    shutil.rmtree(h / "as_of=2025-01-01")  # the run about to be scored
    nov = json.loads((h / "as_of=2024-11-01" / "run.json").read_text())
    dec_file = h / "as_of=2024-12-01" / "run.json"
    dec = json.loads(dec_file.read_text())
    assert nov["model_version"] == dec["model_version"] == "1"
    dec_file.write_text(
        json.dumps(dec | {"model_version": "2", "champion_version": "1", "model_aliases": []})
    )

    scores = pd.read_parquet(root / "scores-2025-01-01.parquet")
    scores = scores.assign(tier=scores["raw_tier"]).drop(columns="raw_tier")
    cfg = load_config(trained.config)
    out = apply_stability(scores, h, cfg, cfg.labels.horizon_days)
    assert out.attrs["stability_runs"] == {"2024-11-01": nov["run_id"]}  # was: the 2024-12-01 run's too
    # the moves are counted from the champion's run, of this run's model: no bridge (was: the challenger's model)
    assert bridge_source(h, "2025-01-01", "1", nov.get("model_run_id")) is None
    notes = " ".join(history_notes(h, "2025-01-01", None, cfg.tiers.stability.rule))
    assert "runs as of 2024-12-01 were scored by a model that was not the champion then" in notes, notes
    # `cvp report --history` of the champion's next run (held over the 2024-11-01 run): its moves are counted
    # from that run, and the tier counts over time are production's (was: the challenger's month among them)
    published = read_output_set(root / "scores-2025-01-01.parquet")
    manifest = published.manifest | {"stability_runs": {"2024-11-01": nov["run_id"]}}
    moves = report_history(h, published.scores, published.contributions, manifest, cfg)
    assert moves.previous_as_of == "2024-11-01"  # was: refused, held over other runs than the history's
    assert [r["as_of"] for r in moves.runs] == ["2024-11-01", "2025-01-01"]
    # a run scored while no model was champion is the only line there is: read
    dec_file.write_text(json.dumps(dec | {"model_version": "2", "champion_version": "", "model_aliases": []}))
    out = apply_stability(scores, h, cfg, cfg.labels.horizon_days)
    assert set(out.attrs["stability_runs"]) == {"2024-11-01", "2024-12-01"}


def test_a_challengers_run_does_not_replace_productions_in_the_history(
    trained, december_history, tmp_path, monkeypatch
):
    """The nightly history holds production's run as of 2024-12-01 (the champion, v1); a data scientist tries
    v2 on the same as-of into the same history (`cvp score --model models:/customer-value/2 --history H`):
    production's run was replaced by the challenger's, exit 0 (was), and later runs would read neither. Now
    refused before the data is read (exit 2, `history_store.check_keeps_production`, the rule of `off_production`),
    production's run kept."""
    import json

    from tests.helpers import cvp
    from tests.pipelines.conftest import history_after_december
    from tests.pipelines.score_helpers import score_cli_args

    config, _ = second_version(trained, tmp_path, monkeypatch)
    history = history_after_december(december_history, tmp_path)
    run_file = history / "as_of=2024-12-01" / "run.json"
    before = run_file.read_text()
    assert json.loads(before)["model_version"] == "1"
    args = score_cli_args(trained, tmp_path / "v2.parquet", "2024-12-01", config, "--history", str(history))
    res = cvp(*args, "--model", "models:/customer-value/2")
    said = " ".join(res.output.split())
    assert res.exit_code == 2, said  # was: 0, the run replaced
    assert "is not the champion (version 1): added, it would replace production's run" in said, said
    assert run_file.read_text() == before and not (tmp_path / "v2.parquet").exists()


def test_a_challengers_backfill_does_not_ask_to_score_the_later_runs_again(history_runs, trained):
    """A challenger's run added to a history before its later runs (a backfill, `cvp score --model
    models:/customer-value/2 --as-of 2024-10-01 --history H`) warned "the history already holds later runs ...:
    their stable tiers were computed without this run ...; score them again" (was), though no later run reads a
    challenger's run (`off_production`): scoring them again changed nothing. Now said only of production's runs,
    at scoring (`history_notes`) and at the append (`unseen_later_runs`)."""
    from pipelines.config import load_config
    from pipelines.history import history_notes, unseen_later_runs
    from pipelines.history_store import Reader

    _, history = history_runs
    rule = load_config(trained.config).tiers.stability.rule
    assert rule != "none"
    said = " ".join(history_notes(history, "2024-10-01", None, rule))
    assert "already holds later runs (2024-11-01, 2024-12-01, 2025-01-01)" in said, said
    manifest = {
        "as_of": "2024-10-01",
        "history_later": {},  # none seen while it scored: all three came meanwhile
        "run_policy": {"tiers": {"stability": {"rule": rule}}},
        "model_version": "2",
        "champion_version": "1",
    }
    assert not unseen_later_runs(history, manifest)  # was: "score them again"
    assert unseen_later_runs(history, manifest | {"model_version": "1"})  # the champion's: said
    challenger = Reader("2", "1", "f" * 32)  # another training run than the history's model's
    assert not history_notes(history, "2024-10-01", None, rule, reader=challenger)


def _challenger_december(history_runs, tmp_path, keep_january=False):
    """A copy of the `history_runs` history whose 2024-12-01 run was scored by version 2, a model of another
    training run, while version 1 was champion (its run.json rewritten); returns (root, history, November's
    run.json, December's)."""
    import json
    import shutil

    root, history = history_runs
    h = tmp_path / "history"
    shutil.copytree(history, h)
    if not keep_january:
        shutil.rmtree(h / "as_of=2025-01-01")  # the run about to be scored
    nov = json.loads((h / "as_of=2024-11-01" / "run.json").read_text())
    dec_file = h / "as_of=2024-12-01" / "run.json"
    dec = json.loads(dec_file.read_text()) | {
        "model_version": "2",
        "champion_version": "1",
        "model_aliases": ["challenger"],
        "model_run_id": "f" * 32,
    }
    dec_file.write_text(json.dumps(dec))
    return root, h, nov, dec


def test_a_challengers_second_run_reads_its_first(history_runs, trained, tmp_path):
    """A challenger (version 2) scored into the nightly history two months running: its second run's stable
    tiers read none of the history's runs (`tier_runs` dropped every run not production's, whoever read: review
    of round 29, was), so its tiers were never held and its moves had nothing to count from. Now a run of a model
    that is not the champion reads its own model's runs (`history_store.reads`): its stable tiers, its notes,
    its report's moves and tier counts read its first run, never production's; production's next run still
    reads production's only."""
    import pandas as pd

    from pipelines.config import load_config
    from pipelines.history import apply_stability, bridge_source, history_notes, report_history
    from pipelines.history_store import HISTORY_RULE, Reader
    from pipelines.outputs import read_output_set

    root, h, nov, dec = _challenger_december(history_runs, tmp_path)
    challenger = Reader("2", "1", "f" * 32)
    scores = pd.read_parquet(root / "scores-2025-01-01.parquet")
    scores = scores.assign(tier=scores["raw_tier"]).drop(columns="raw_tier")
    cfg = load_config(trained.config)
    out = apply_stability(scores, h, cfg, cfg.labels.horizon_days, reader=challenger)
    assert out.attrs["stability_runs"] == {"2024-12-01": dec["run_id"]}  # was: {}, nothing read
    production = apply_stability(scores, h, cfg, cfg.labels.horizon_days)
    assert production.attrs["stability_runs"] == {"2024-11-01": nov["run_id"]}
    assert (
        bridge_source(h, "2025-01-01", "2", "f" * 32, "1") is None
    )  # its own model's run: nothing to bridge
    notes = " ".join(history_notes(h, "2025-01-01", None, cfg.tiers.stability.rule, reader=challenger))
    assert "version 2, is not the champion (version 1)" in notes, notes
    assert "read only this history's earlier runs of its own model (2024-12-01), not production's" in notes
    assert "were scored by a model that was not the champion then" not in notes  # production's note, not its
    first = " ".join(history_notes(h, "2024-12-01", None, cfg.tiers.stability.rule, reader=challenger))
    assert "its own model, not production's: there is none" in first, first  # its first run: reads nothing
    published = read_output_set(root / "scores-2025-01-01.parquet")
    manifest = published.manifest | {
        "model_version": "2",
        "champion_version": "1",
        "model_run_id": "f" * 32,
        "stability_runs": {"2024-12-01": dec["run_id"]},
        "history_rule": HISTORY_RULE,
        "bridge": None,
    }
    moves = report_history(h, published.scores, published.contributions, manifest, cfg)
    assert moves.previous_as_of == "2024-12-01"
    assert [r["as_of"] for r in moves.runs] == ["2024-12-01", "2025-01-01"]


def test_the_append_keeps_productions_run_of_the_same_as_of(history_runs, tmp_path):
    """A challenger's run appended over production's run of the same as-of (production's nightly run added while
    the challenger's scored: `cvp score` checked it before reading the data only): production's run replaced
    (review of round 29, was). Now the append judges it again under the history's lock
    (`history_store.check_keeps_production`): refused, production's run kept."""
    import pandas as pd
    import pytest

    from features.validation import StructuralError
    from pipelines.history_append import append_run
    from pipelines.outputs import read_output_set

    root, history = history_runs
    h = tmp_path / "history"
    import shutil

    shutil.copytree(history, h)
    part = h / "as_of=2024-12-01"
    before = (part / "run.json").read_text()
    manifest = read_output_set(root / "scores-2024-12-01.parquet", columns=[]).manifest
    manifest = {k: v for k, v in manifest.items() if k != "stability_runs"}  # not judged: the check alone
    manifest |= {"model_version": "2", "champion_version": "1", "model_run_id": "f" * 32, "run_id": "other"}
    scores = pd.read_parquet(part / "scores.parquet")
    contributions = tmp_path / "contributions.parquet"
    shutil.copyfile(part / "contributions.parquet", contributions)
    with pytest.raises(
        StructuralError, match="not added to the score history: .*would replace production's run"
    ):
        append_run(h, scores, contributions, manifest)  # was: added, production's run replaced
    assert (part / "run.json").read_text() == before


def test_report_history_of_a_run_scored_before_the_rule(history_runs, trained, tmp_path):
    """A history holding a challenger's run scored before round 29 (2024-12-01): production's next run was held
    over it then (its manifest's `stability_runs` names it: the rule of its time read every run). Its `cvp report
    --history` was refused, "held over other runs than this history holds" (review of round 29, was): the check
    read the history by the new rule. Now a manifest without `history_rule` is judged by the rule of its time;
    one written since by the new rule."""
    import pytest

    from features.validation import StructuralError
    from pipelines.config import load_config
    from pipelines.history import report_history
    from pipelines.outputs import read_output_set

    root, h, nov, dec = _challenger_december(history_runs, tmp_path, keep_january=True)
    cfg = load_config(trained.config)
    published = read_output_set(root / "scores-2025-01-01.parquet")
    old = {k: v for k, v in published.manifest.items() if k != "history_rule"}
    old["stability_runs"] = {"2024-11-01": nov["run_id"], "2024-12-01": dec["run_id"]}
    moves = report_history(h, published.scores, published.contributions, old, cfg)  # was: refused
    assert moves.previous_as_of == "2024-11-01"
    from pipelines.history_store import HISTORY_RULE

    with pytest.raises(StructuralError, match="held by the stability rule over other runs"):
        report_history(
            h, published.scores, published.contributions, old | {"history_rule": HISTORY_RULE}, cfg
        )


def _trained_in(monkeypatch, currencies, horizon_days=None):
    """`load_bundle` giving each version's model as trained on amounts in `currencies[version]` (and over
    `horizon_days`, when given): the fixture's one model standing for models of other configurations."""
    import copy
    import dataclasses

    import pipelines.tracking as tracking

    real = tracking.load_bundle

    def load(uri, *args, **kwargs):
        loaded = real(uri, *args, **kwargs)
        bundle = copy.copy(loaded.bundle)
        bundle.data_settings = dict(bundle.data_settings or {}) | {"currency": currencies[loaded.version]}
        if horizon_days is not None:
            bundle.label_config = bundle.label_config.model_copy(update={"horizon_days": horizon_days})
        return dataclasses.replace(loaded, bundle=bundle)

    monkeypatch.setattr(tracking, "load_bundle", load)


def test_models_promote_without_config_judges_against_the_champion(trained, tmp_path, monkeypatch):
    """`cvp models promote 2` without `--config` judged the version against `configs/default.yaml` (EUR, 365
    days): a user who trains with `--config configs/online_retail.yaml` (GBP, 90 days) got exit 2, "every `cvp
    score` of the default configuration would stop on it", or a false "settings differ" list (review of round 29,
    was). Now, without `--config`, the version is judged against the champion's contract: the same currency and
    settings, promoted without a word; another currency than the champion's refused (`--config`, `--force` the
    ways out)."""
    from pipelines.tracking import current_champion
    from tests.helpers import cvp

    second_version(trained, tmp_path, monkeypatch)
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    _trained_in(monkeypatch, {"1": "GBP", "2": "GBP"}, horizon_days=90)
    res = cvp("models", "promote", "2", "--tracking-uri", uri)
    said = " ".join(res.output.split())
    assert res.exit_code == 0, said  # was: 2, "trained on amounts in GBP, this run's data is in EUR"
    assert "settings differ" not in said, said
    assert current_champion("customer-value") == "2"
    _trained_in(monkeypatch, {"1": "USD", "2": "GBP"})  # now v2 the champion, in GBP; v1 in USD
    res = cvp("models", "promote", "1", "--tracking-uri", uri)
    said = " ".join(res.output.split())
    assert res.exit_code == 2, said
    assert "the champion's data (v2, in GBP)" in said and "trained on amounts in USD" in said, said
    assert "--config" in said and "--force" in said
    assert current_champion("customer-value") == "2"
