"""Issue 12 in `cvp score`: new customers get status `new` and the registered lookalike model's score.

On the shared `trained` fixture (800 demo customers plus 16 who signed up in the last 45 days without an order;
model trained as of 2024-07-01, scored as of 2025-01-01).
"""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import cloudpickle
import pandas as pd
import pytest
from rich.console import Console

from features.population import known_customers
from pipelines.io import load_data
from pipelines.outputs import read_output_set
from tests.pipelines.score_helpers import score_trained


@pytest.fixture(scope="module")
def scored(default_scores, tmp_path_factory):
    """A copy of the shared `default_scores` run (the same `score_trained` call this fixture used to make)."""
    root = tmp_path_factory.mktemp("newcomers") / "scored"
    shutil.copytree(default_scores.out.parent, root)
    return {"root": root, "run": default_scores.run, "set": read_output_set(root / "scores.parquet")}


def _newcomers(trained) -> set[str]:
    truth = pd.read_parquet(trained.data / "_truth" / "truth.parquet")
    return set(truth.loc[truth["signed_up_without_order"], "customer_id"].astype(str))


def test_every_customer_has_a_row_and_newcomers_are_new_with_the_lookalike_score(scored, trained) -> None:
    scores = scored["set"].scores
    tables = load_data(trained.data).tables
    # Rows out = customers in, on a company with newcomers: nobody is dropped, everyone has a status.
    assert set(scores["customer_id"]) == set(known_customers(tables)) and scores["customer_id"].is_unique
    assert scores["status"].notna().all() and (scores["status_reason"].str.len() > 0).all()
    newcomers = _newcomers(trained)
    assert len(newcomers) >= 10
    new = scores[scores["status"] == "new"]
    assert newcomers <= set(new["customer_id"])  # every newcomer without an order is `new`
    # Their lookalike score, reasons in words and a provisional tier; the main tier and predictions stay empty.
    assert new["lookalike_prob_great"].between(0, 1).all() and new["lookalike_expected_value"].notna().all()
    assert (new["lookalike_reason_1"].str.len() > 0).all()
    assert new["lookalike_reason_1"].str.contains(r"\((?:raises|lowers) the chance\)").all()
    assert new["provisional_tier"].str.fullmatch(r"(great|good|problem) \(provisional\)").all()
    assert new["tier"].isna().all() and new["pred_value_365d"].isna().all()
    assert new["status_reason"].str.startswith("new customer: signed up on ").all()
    # Everyone else keeps the status of the population rule, without lookalike columns.
    rest = scores[scores["status"] != "new"]
    assert rest["lookalike_prob_great"].isna().all() and rest["provisional_tier"].isna().all()
    assert set(rest["status"]) <= {"scored", "cancelled", "lapsed", "no_orders_yet"}
    assert rest.loc[rest["status"] == "scored", "tier"].notna().all()
    # The manifest counts them and carries the registered model's backtest.
    manifest = scored["set"].manifest
    assert manifest["statuses"]["new"] == len(new) == manifest["lookalike"]["new_customers"]
    assert manifest["customers_total"] == len(scores)
    assert manifest["lookalike"]["backtest"]["auc_model"] > 0.5


def test_scoring_and_profile_use_the_registered_lookalike_model_never_refit(
    trained, watched_scores, tmp_path: Path, monkeypatch
) -> None:
    import models.lookalike
    import pipelines.profile

    # `watched_scores` records every call of these three during its `cvp score` run: none
    assert watched_scores.refits == [], "the lookalike model was refitted while scoring"
    manifest = watched_scores.manifest
    assert manifest["lookalike"]["new_customers"] > 0

    def refit(*args, **kwargs):
        raise AssertionError("the lookalike model was refitted")

    monkeypatch.setattr(models.lookalike, "fit_lookalike", refit)
    monkeypatch.setattr(models.lookalike, "lookalike_training_set", refit)
    monkeypatch.setattr(pipelines.profile, "lookalike_training", refit)
    shutil.copytree(watched_scores.out.parent, tmp_path / "run")
    console = Console(file=io.StringIO(), width=300)
    pipelines.profile.run_profile(
        tmp_path / "run" / "scores.parquet", trained.data, tmp_path / "profile", None, trained.config, console
    )
    new = pd.read_parquet(tmp_path / "profile" / "lookalike_scores.parquet")
    scores = pd.read_parquet(watched_scores.out).set_index("customer_id")
    assert len(new) == manifest["lookalike"]["new_customers"]
    # The profile shows exactly the scores `cvp score` gave (same model, same numbers).
    pd.testing.assert_series_equal(
        new.set_index("customer_id")["lookalike_prob_great"],
        scores.loc[new["customer_id"], "lookalike_prob_great"],
        check_names=False,
    )


def test_a_model_registered_without_a_lookalike_model_still_scores_with_a_note(
    trained, tmp_path: Path, monkeypatch
) -> None:
    import pipelines.tracking as tracking

    real = tracking.load_bundle

    def legacy(
        uri: str, *args: str | None
    ):  # the registered model as a bundle pickled before it carried a lookalike
        loaded = real(uri, *args)
        old = cloudpickle.loads(cloudpickle.dumps(loaded.bundle))
        del old.__dict__["lookalike_"], old.__dict__["lookalike_note_"]
        old = cloudpickle.loads(cloudpickle.dumps(old))
        assert old.lookalike_ is None  # what an old pickle reads
        return tracking.LoadedModel(old, loaded.uri, loaded.version, loaded.run_id)

    monkeypatch.setattr(tracking, "load_bundle", legacy)
    console = Console(file=io.StringIO(), width=400)
    run = score_trained(trained, tmp_path / "scores.parquet", console=console)
    printed = console.file.getvalue()
    assert "new customers are not scored" in printed and "registered before" in printed
    scores = read_output_set(tmp_path / "scores.parquet").scores
    newcomers = _newcomers(trained)
    # Scored as before: newcomers keep `no_orders_yet`, the lookalike columns are there and empty.
    assert set(scores.loc[scores["customer_id"].isin(newcomers), "status"]) == {"no_orders_yet"}
    kept = run.manifest["lookalike"]["kept_status"]  # who would be new, by the status they keep
    assert kept.get("no_orders_yet", 0) >= 1 and set(kept) <= {"no_orders_yet", "lapsed"}, kept
    said = ", ".join(f"{k} {v:,}" for k, v in kept.items())
    assert any(
        w.startswith("new customers are not scored") and f"keep their status ({said})" in w
        for w in run.manifest["warnings"]
    ), run.manifest["warnings"]
    assert "new" not in set(scores["status"]) and scores["lookalike_prob_great"].isna().all()
    assert (
        run.manifest["lookalike"]["model"] is False
        and "registered before" in run.manifest["lookalike"]["note"]
    )
    assert (scores["status"] == "scored").sum() == run.manifest["customers_scored"] > 0


def test_managers_see_their_own_new_customers_from_the_scores_alone(scored, trained, tmp_path: Path) -> None:
    from pipelines.jobs import run_report

    console = Console(file=io.StringIO())
    run_report(
        scored["root"] / "scores.parquet", tmp_path / "pages", trained.data, None, trained.config, console
    )
    scores = scored["set"].scores
    new = scores[scores["status"] == "new"]
    customers = pd.read_parquet(trained.data / "customers.parquet").set_index("customer_id")
    owner = customers["account_manager_id"].reindex(new["customer_id"]).astype(str).to_numpy()
    shown = set()
    for page in sorted((tmp_path / "pages").glob("manager-*.html")):
        html = page.read_text(encoding="utf-8")
        manager = page.stem.removeprefix("manager-")
        mine = set(new.loc[owner == manager, "customer_id"])
        if not mine:
            assert 'id="new-customers"' not in html, page.name
            continue
        section = html.split('<section id="new-customers">', 1)[1].split("</section>", 1)[0]
        ids = re.findall(r'data-customer-id="([^"]+)"', section)
        assert set(ids) == mine, manager  # every one of their new customers, and nobody else's
        # The most likely to become great first, with the provisional tier and what to do first.
        probs = new.set_index("customer_id").loc[ids, "lookalike_prob_great"].to_numpy()
        assert (probs[:-1] >= probs[1:]).all()
        assert "(provisional)" in section and "What to do first" in section
        assert any(text in section for text in ("Call within", "Welcome them", "Agree terms early"))
        # Not listed again among the customers without a score.
        if '<section id="not-scored">' in html:
            rest = html.split('<section id="not-scored">', 1)[1].split("</section>", 1)[0]
            assert not mine & set(re.findall(r'data-customer-id="([^"]+)"', rest))
        shown |= set(ids)
    assert shown == set(new["customer_id"])
    team = (tmp_path / "pages" / "index.html").read_text(encoding="utf-8")
    assert f'data-status="new">new {len(new):,}' in team  # the team page counts them
    # its top card counts the customers with an expected value, not them (was: "306 customers"; review21s 3)
    assert '<div class="label">customers with an expected value</div>' in team
    assert not any(cid in team for cid in new["customer_id"])  # aggregates only


def test_the_early_life_features_are_built_while_the_whole_base_is_finished(trained, tmp_path, monkeypatch):
    """Issue 14: with two CPUs the new customers' early-life features are built on a background thread from the
    end of the chunk loop on, while the whole base is finished: the finish waits here until they have started,
    which a run that builds them only after it never does. The new customers are scored as before."""
    import threading

    import features.early_life as early_module
    import pipelines.engines.score_base as base_module

    started = threading.Event()
    seen: dict[str, str] = {}
    build, finish = early_module.early_life_features, base_module.finish_scores

    def spied_build(*args, **kwargs):
        seen["early"] = threading.current_thread().name
        started.set()
        return build(*args, **kwargs)

    def waiting_finish(*args, **kwargs):
        assert started.wait(timeout=60), "the early-life features were not built beside the finish"
        return finish(*args, **kwargs)

    monkeypatch.setattr(early_module, "early_life_features", spied_build)
    monkeypatch.setattr(base_module, "finish_scores", waiting_finish)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    run = score_trained(trained, tmp_path / "s.parquet")
    assert seen["early"].startswith("early-life")
    assert run.manifest["lookalike"]["new_customers"] > 0
    assert run.manifest["statuses"].get("new", 0) == run.manifest["lookalike"]["new_customers"]


def test_the_new_customers_are_scored_beside_the_finish_as_the_serial_run_scores_them(
    trained, tmp_path, monkeypatch
):
    """Issue 14: with two CPUs the lookalike score of the new customers is computed on the early-life thread too
    (it needs the statuses only), once; the output set is the one a run on one CPU writes."""
    import threading

    import models.lookalike as lookalike_module

    calls: list[str] = []
    score = lookalike_module.score_new_customers

    def spied_score(*args, **kwargs):
        calls.append(threading.current_thread().name)
        return score(*args, **kwargs)

    monkeypatch.setattr(lookalike_module, "score_new_customers", spied_score)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    threaded = score_trained(trained, tmp_path / "threaded" / "s.parquet")
    assert len(calls) == 1 and calls[0].startswith("early-life")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    score_trained(trained, tmp_path / "serial" / "s.parquet")
    assert calls[1:] == [threading.main_thread().name]
    assert threaded.manifest["lookalike"]["new_customers"] > 0
    one, two = (read_output_set(tmp_path / d / "s.parquet").scores for d in ("threaded", "serial"))
    pd.testing.assert_frame_equal(one, two, check_exact=True)


def test_a_lookalike_score_of_other_new_customers_or_another_policy_is_not_taken(monkeypatch):
    """`EarlyLife.scored` takes the score computed beside the finish only for the new customers the scores find
    (their statuses may say otherwise than those it was given) and the same policy; else it scores them again."""
    from types import SimpleNamespace

    import features.early_life as early_module
    import models.lookalike as lookalike_module
    from pipelines.newcomers import EarlyLife

    features = pd.DataFrame({"early_has_order": [0, 1]}, index=pd.Index(["a", "b"], name="customer_id"))
    monkeypatch.setattr(early_module, "early_life_features", lambda *args: features)
    calls: list[list[str]] = []

    def fake_score(model, frame, policy, currency):
        calls.append(list(frame.index))
        return pd.DataFrame({"policy": [policy] * len(frame)}, index=frame.index)

    monkeypatch.setattr(lookalike_module, "score_new_customers", fake_score)
    bundle = SimpleNamespace(lookalike_=SimpleNamespace(early_days=45, attributes=()))
    status = pd.DataFrame({"customer_id": ["a", "b", "c"], "status": ["no_orders_yet", "scored", "lapsed"]})
    cfg = SimpleNamespace(profile=SimpleNamespace(lookalike="P"), data=SimpleNamespace(currency="EUR"))

    def early_life() -> EarlyLife:
        early = EarlyLife({}, pd.Timestamp("2025-01-01"), bundle, status, cfg)
        assert early.result() is features and calls[-1] == ["a"]  # scored with the features: `a` is new
        return early

    a = pd.Index(["a"], name="customer_id")
    assert list(early_life().scored(features.loc[a], a, "P", "EUR")["policy"]) == ["P"] and len(calls) == 1
    both = pd.Index(["a", "b"], name="customer_id")  # the scores say `b` is new too
    assert early_life().scored(features.loc[both], both, "P", "EUR").index.equals(both)
    assert calls[-1] == ["a", "b"]
    assert list(early_life().scored(features.loc[a], a, "Q", "EUR")["policy"]) == ["Q"]  # another policy
    assert list(early_life().scored(features.loc[a], a, "P", "USD")["policy"]) == ["P"] and calls[-1] == ["a"]
    assert len(calls) == 7
