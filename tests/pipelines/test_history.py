"""The score history on real scoring runs: append (idempotent), listing, stability applied, transitions, refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from features import feature_registry
from models.tiers import reason_key
from pipelines.cli import app
from pipelines.config import load_config
from pipelines.history import transitions_between
from pipelines.history_store import list_runs, read_run, read_run_churn
from tests.pipelines.conftest import HISTORY_AS_OFS
from tests.pipelines.score_helpers import score_cli_args

#: The `history_runs` fixture's three monthly runs of the fixture's champion into one history
#: (`tests/pipelines/conftest.py`, made once per session, read-only: copied before a run is added).
AS_OFS = HISTORY_AS_OFS


def _score(trained, as_of: str, out: Path, history: Path, config: Path | None = None):
    return CliRunner().invoke(app, score_cli_args(trained, out, as_of, config, "--history", str(history)))


def run_info(run) -> dict:
    return json.loads((run.path / "run.json").read_text())


def _files(history: Path) -> dict[str, bytes]:
    return {str(p.relative_to(history)): p.read_bytes() for p in sorted(history.rglob("*")) if p.is_file()}


def test_history_partitions_one_per_as_of_and_rerun_is_idempotent(trained, history_runs, tmp_path):
    root, history = history_runs
    runs = list_runs(history)
    assert [r.as_of for r in runs] == list(AS_OFS)
    assert sorted(p.name for p in history.iterdir() if not p.name.startswith(".")) == [
        f"as_of={a}" for a in AS_OFS
    ]
    before = _files(history)
    again = tmp_path / "history"  # the session's history is read-only: the run again into a copy
    shutil.copytree(history, again)
    res = _score(trained, AS_OFS[1], tmp_path / "again.parquet", again)  # the same as-of again
    assert res.exit_code == 0, res.output
    after = _files(again)
    assert after == before  # replaced by an identical partition: nothing added, nothing changed
    assert not [p for p in again.iterdir() if p.name.startswith((".staging-", ".as_of="))]
    scores, contrib = read_run(runs[-1])
    published = pd.read_parquet(root / f"scores-{AS_OFS[-1]}.parquet")
    assert scores["run_id"].iloc[0] == published["run_id"].iloc[0]
    assert len(scores) == len(published) and set(contrib.index) <= set(scores["customer_id"])
    # the reported and the raw tier are both published; the first run of a history reports the raw tier, and a
    # later one says why a customer is held at their tier (default rule: margin)
    first = pd.read_parquet(root / f"scores-{AS_OFS[0]}.parquet")
    pd.testing.assert_series_equal(first["tier"], first["raw_tier"], check_names=False)
    held = published["tier"].notna() & (published["tier"] != published["raw_tier"])
    assert published.loc[held, "tier_reason"].str.contains(r"stability rule \(margin\)").all()
    assert published.loc[held, "tier_reason"].map(lambda r: reason_key(r)[0] == "kept").all()
    assert run_info(runs[-1])["stability_rule"] == load_config().tiers.stability.rule
    info = json.loads((runs[0].path / "run.json").read_text())
    assert (
        info["horizon_days"] == runs[0].horizon_days
        and sum(info["statuses"].values()) == info["customers_total"]
    )


def test_cvp_history_lists_runs(history_runs):
    _, history = history_runs
    res = CliRunner().invoke(app, ["history", "--history", str(history)])
    assert res.exit_code == 0, res.output
    for as_of in AS_OFS:
        assert as_of in res.output
    assert "great" in res.output and "scored" in res.output


def test_transitions_from_the_history_add_up(trained, history_runs):
    """Old value + value deltas = new value within 1e-9, one model, on real scoring runs from the history."""
    _, history = history_runs
    runs = list_runs(history)
    cfg = load_config(trained.config)
    new_scores, new_contrib = read_run(runs[-1])
    t = transitions_between(
        runs[-2], new_scores, new_contrib, runs[-1].horizon_days, cfg, feature_registry(cfg.features)
    )
    both = t[(t["old_status"] == "scored") & (t["new_status"] == "scored")]
    assert len(both) > 100 and not both["model_changed"].any()
    amounts = both.filter(regex=r"^value_delta_amount_").fillna(0.0).sum(axis=1)
    # the top deltas are the top groups; all groups together add up exactly
    from models.transitions import contribution_deltas

    old_contrib = read_run(runs[-2])[1]
    deltas = contribution_deltas(old_contrib.reindex(both.index), new_contrib.reindex(both.index))
    np.testing.assert_allclose(
        both["old_value"] + deltas.sum(axis=1), both["new_value"], rtol=0, atol=1e-9 * 1000
    )
    assert (amounts.abs() <= both["value_change"].abs() + deltas.abs().sum(axis=1) + 1e-9).all()
    assert both["value_delta_1"].notna().any()
    assert both["value_delta_1"].str.contains("EUR").any()
    # features the scores carry are said with their move ("rose from ... to ...")
    assert both.filter(regex=r"^value_delta_\d$").stack().str.contains(r"(?:rose|fell) from").any()


def test_stability_applied_with_history(trained, tmp_path):
    """With rule consecutive (2 runs) a customer whose raw tier changes keeps the previous reported tier."""
    cfg = yaml.safe_load(Path(trained.config).read_text())
    cfg["tiers"] = {"stability": {"rule": "consecutive", "runs": 2}}
    config = tmp_path / "consecutive.yaml"
    config.write_text(yaml.safe_dump(cfg))
    history = tmp_path / "history"
    outs = []
    for as_of in AS_OFS[:2]:
        out = tmp_path / f"s-{as_of}.parquet"
        res = _score(trained, as_of, out, history, config)
        assert res.exit_code == 0, res.output
        outs.append(pd.read_parquet(out).set_index("customer_id"))
    first, second = outs
    pd.testing.assert_series_equal(
        first["tier"], first["raw_tier"], check_names=False
    )  # a first run reports the raw tier
    both = first.index.intersection(second.index)
    a, b = first.loc[both], second.loc[both]
    changed = (
        a["raw_tier"].notna()
        & b["raw_tier"].notna()
        & (a["raw_tier"] != b["raw_tier"])
        & (b["raw_tier"] != "problem")
    )
    assert changed.sum() > 0, "no raw tier changed between the runs: the test shows nothing"
    # the raw tier changed once: the reported tier stays where it was
    assert (b.loc[changed, "tier"] == a.loc[changed, "raw_tier"]).all()
    assert b.loc[changed, "tier_reason"].str.contains("stability rule").all()
    # a raw problem is reported at once
    became_problem = (b["raw_tier"] == "problem") & a["raw_tier"].notna()
    assert (b.loc[became_problem, "tier"] == "problem").all()
    # the history records the reported tiers and the rule
    runs = list_runs(history)
    assert runs[-1].stability_rule == "consecutive"
    assert runs[-1].tiers == b["tier"].value_counts().to_dict()


def test_foreign_or_damaged_history_exits_2(trained, tmp_path, history_runs):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    res = _score(trained, AS_OFS[0], tmp_path / "s.parquet", foreign)
    assert res.exit_code == 2 and "not a score history" in res.output
    assert (foreign / "notes.txt").read_text() == "mine" and not (tmp_path / "s.parquet").exists()
    res = CliRunner().invoke(app, ["history", "--history", str(foreign)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    res = CliRunner().invoke(app, ["history", "--history", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "does not exist" in res.output
    # a partition without its files, and a stray file
    _, history = history_runs
    damaged = tmp_path / "damaged"
    shutil.copytree(history, damaged)
    (damaged / f"as_of={AS_OFS[0]}" / "contributions.parquet").unlink()
    res = CliRunner().invoke(app, ["history", "--history", str(damaged)])
    assert res.exit_code == 2 and "contributions.parquet" in res.output
    stray = tmp_path / "stray"
    shutil.copytree(history, stray)
    (stray / "x.csv").write_text("a\n")
    res = CliRunner().invoke(app, ["history", "--history", str(stray)])
    assert res.exit_code == 2 and "x.csv" in res.output


def test_mixed_horizons_are_refused(trained, tmp_path, history_runs):
    _, history = history_runs
    mixed = tmp_path / "mixed"
    shutil.copytree(history, mixed)
    run_file = mixed / f"as_of={AS_OFS[0]}" / "run.json"
    info = json.loads(run_file.read_text())
    info["horizon_days"] = 90
    run_file.write_text(json.dumps(info))
    res = CliRunner().invoke(app, ["history", "--history", str(mixed)])
    assert res.exit_code == 0 and "mixes horizons" in res.output
    cfg = yaml.safe_load(Path(trained.config).read_text())
    cfg["tiers"] = {"stability": {"rule": "margin"}}
    config = tmp_path / "margin.yaml"
    config.write_text(yaml.safe_dump(cfg))
    res = _score(trained, AS_OFS[1], tmp_path / "m.parquet", mixed, config)
    assert res.exit_code == 2 and "different horizons" in res.output and "Traceback" not in res.output
    runs = list_runs(mixed)
    cfg_obj = load_config(trained.config)
    new_scores, new_contrib = read_run(runs[-1])
    from features.validation import StructuralError

    with pytest.raises(StructuralError, match="different horizons"):
        transitions_between(runs[0], new_scores, new_contrib, runs[-1].horizon_days, cfg_obj, {})


def test_report_reads_the_history(trained, history_runs, tmp_path):
    """`cvp report --history`: actions on each manager page hold only that manager's customers; team transitions."""
    import re

    root, history = history_runs
    scores_path = root / f"scores-{AS_OFS[-1]}.parquet"
    out = tmp_path / "site"
    args = ["report", "--scores", str(scores_path), "--out", str(out), "--config", str(trained.config)]
    res = CliRunner().invoke(app, [*args, "--history", str(history)])
    assert res.exit_code == 0, res.output
    scores = pd.read_parquet(scores_path)
    index = (out / "index.html").read_text()
    assert 'class="transition-matrix"' in index and 'id="tier-history-chart"' in index
    for as_of in AS_OFS:
        assert as_of in index
    pages = sorted(out.glob("manager-*.html"))
    assert pages
    shown_any = False
    for page in pages:
        html = page.read_text()
        assert 'id="this-month"' in html and f"since the run of {AS_OFS[-2]}" in html
        ids = set(re.findall(r'<tr class="customer" data-customer-id="([^"]+)"', html))
        actions = set(re.findall(r'<tr class="action-row" data-customer-id="([^"]+)"', html))
        assert actions <= ids, f"{page.name} shows another manager's customers in its actions"
        shown_any |= bool(actions)
    assert shown_any, "no action at all across the pages: the test shows nothing"
    # the same run reported without a history: no history section
    plain = tmp_path / "plain"
    res = CliRunner().invoke(app, ["report", "--scores", str(scores_path), "--out", str(plain)])
    assert res.exit_code == 0, res.output
    assert 'id="transitions"' not in (plain / "index.html").read_text()
    assert len(scores) > 0


def test_scoring_writes_churn_contributions_beside_the_value_ones(trained, history_runs):
    """`<stem>.churn_contributions.parquet`: the value file's layout and rows, in probability points, each row
    adding up to the churn probability; declared in the manifest, read back with the set, kept by the history."""
    from pipelines.outputs import output_paths, read_output_set

    root, history = history_runs
    out = root / f"scores-{AS_OFS[-1]}.parquet"
    paths = output_paths(out)
    assert paths["churn_contributions"].name == f"scores-{AS_OFS[-1]}.churn_contributions.parquet"
    value = pd.read_parquet(paths["contributions"])
    churn = pd.read_parquet(paths["churn_contributions"])
    assert list(churn.columns) == list(value.columns)  # customer_id, run_id, the features, _base
    assert churn["customer_id"].tolist() == value["customer_id"].tolist()  # same rows, same order
    run = read_output_set(out)
    assert set(churn["run_id"]) == {run.run_id}
    assert run.manifest["churn_contributions"] == {
        "file": paths["churn_contributions"].name,
        "unit": "probability",
        "rows": len(churn),
    }
    h = run.manifest["horizon_days"]
    scores = run.scores.set_index("customer_id")
    assert run.churn_contributions is not None and len(run.churn_contributions) > 100
    total = run.churn_contributions.sum(axis=1)
    np.testing.assert_allclose(
        total.to_numpy(), scores.loc[total.index, f"pred_churn_prob_{h}d"].to_numpy(), rtol=0, atol=1e-9
    )
    # the history keeps the same file for the run
    kept = read_run_churn(list_runs(history)[-1])
    pd.testing.assert_frame_equal(kept, run.churn_contributions)


def test_churn_contributions_of_another_run_are_refused(history_runs, tmp_path):
    from features.validation import StructuralError
    from pipelines.outputs import output_paths, read_output_set

    root, _ = history_runs
    for name in ("scores", "contributions", "manifest"):
        src = output_paths(root / f"scores-{AS_OFS[-1]}.parquet")[name]
        shutil.copyfile(src, output_paths(tmp_path / "s.parquet")[name])
    shutil.copyfile(
        output_paths(root / f"scores-{AS_OFS[0]}.parquet")["churn_contributions"],
        output_paths(tmp_path / "s.parquet")["churn_contributions"],
    )
    with pytest.raises(StructuralError, match="another run"):
        read_output_set(tmp_path / "s.parquet")


def test_churn_transitions_from_the_history_add_up(trained, history_runs):
    """Old churn + churn deltas = new churn within 1e-9 (one model), said in churn points by feature group."""
    _, history = history_runs
    runs = list_runs(history)
    cfg = load_config(trained.config)
    new_scores, new_contrib = read_run(runs[-1])
    new_churn = read_run_churn(runs[-1])
    t = transitions_between(
        runs[-2],
        new_scores,
        new_contrib,
        runs[-1].horizon_days,
        cfg,
        feature_registry(cfg.features),
        new_churn,
    )
    both = t[(t["old_status"] == "scored") & (t["new_status"] == "scored")]
    assert len(both) > 100 and not both["model_changed"].any()
    from models.transitions import contribution_deltas

    old_churn = read_run_churn(runs[-2])
    deltas = contribution_deltas(old_churn.reindex(both.index), new_churn.reindex(both.index))
    np.testing.assert_allclose(
        both["old_churn_prob"] + deltas.sum(axis=1), both["new_churn_prob"], rtol=0, atol=1e-9
    )
    # one model: the base probability is the same in both runs, so the features' deltas are the whole change
    assert deltas["_base"].abs().max() < 1e-12
    np.testing.assert_allclose(both["churn_change_data"], both["churn_change"], rtol=0, atol=0)
    assert (both["churn_change_model"] == 0).all()
    # the top deltas are group sums of those deltas, in probability
    amounts = both.filter(regex=r"^churn_delta_amount_").fillna(0.0)
    assert (amounts.abs().sum(axis=1) <= deltas.abs().sum(axis=1) + 1e-9).all()
    moved = both["churn_change"].abs() > 0.01
    assert moved.sum() > 10, "churn moved for too few customers: the test shows nothing"
    said = both.loc[moved, "churn_delta_1"]
    assert said.notna().all() and said.str.contains(r"[+-]\d+ churn points?\b|less than 1 churn point").all()
    groups = both.loc[moved].filter(regex=r"^churn_delta_group_\d$")
    assert (groups.nunique(axis=1) == groups.notna().sum(axis=1)).all()  # one delta per group


def _respell_ids(src: Path, dst: Path) -> None:
    """The fixture's data with every customer id as a Parquet integer (`C000042` -> 42): another system's export."""
    from features.population import CUSTOMER_ID_COLUMNS

    shutil.copytree(src, dst)
    for table, columns in CUSTOMER_ID_COLUMNS.items():
        path = dst / f"{table}.parquet"
        if not path.is_file():
            continue
        frame = pd.read_parquet(path)
        for col in columns:
            if col in frame:
                frame[col] = frame[col].str.replace("C", "", regex=False).astype("Int64")
        frame.to_parquet(path, index=False)


def test_ids_respelled_between_runs_are_refused(trained, tmp_path, history_runs):
    """`C000042` in the history, `42` now (leading zeros and prefix dropped, integers for text): exit 2 naming
    examples, nothing published, the history unchanged (was: exit 0, every customer new, stable tiers reset)."""
    _, history = history_runs
    copy = tmp_path / "history"
    shutil.copytree(history, copy)
    shutil.rmtree(copy / f"as_of={AS_OFS[-1]}")
    data = tmp_path / "data"
    _respell_ids(trained.data, data)
    out = tmp_path / "s.parquet"
    args = score_cli_args(trained, out, AS_OFS[-1], None, "--history", str(copy))
    args[args.index("--data") + 1] = str(data)
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "another spelling of their id" in text and "now '1'" in text and "Traceback" not in text
    assert not out.exists() and [r.as_of for r in list_runs(copy)] == list(AS_OFS[:-1])
    # the history is as it was, byte for byte: the same data with the ids as before is accepted (the check is on
    # ids, not on the run): the `history_runs` fixture's own last run, the same as-of and data into this same
    # history, published with exit 0 (was: that run made again here)
    assert _files(copy) == {
        k: v for k, v in _files(history).items() if not k.startswith(f"as_of={AS_OFS[-1]}")
    }
    assert list_runs(history)[-1].as_of == AS_OFS[-1]


def test_respelled_ids_are_recognised_only_unambiguously():
    from features.id_spellings import respelled_ids

    before = pd.Series(["C001", "C002", "00042", "K7", "A5", "B5", "same"])
    after = pd.Series(["1", "2", "42", "same", "5", "x9"])
    # `A5`/`B5` share a key: neither is matched; `K7` has no counterpart
    assert respelled_ids(before, after) == [("00042", "42"), ("C001", "1"), ("C002", "2")]
    assert respelled_ids(after, after) == []
