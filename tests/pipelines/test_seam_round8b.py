"""Round 8 of the train/score seam, second part (the first is `test_seam_round8.py`): a champion promoted while a
scoring run starts, a history whose tier rules, order of runs or model (same number, another registry) changed
under it, a model trained by other feature code.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.validation import StructuralError
from tests.helpers import keep_mlflow_uris
from tests.pipelines.conftest import history_after_december


def test_the_champion_version_recorded_is_the_model_loaded_when_promoted_meanwhile(
    challenged, tmp_path, monkeypatch
):
    """`cvp score` resolves `@champion` to a version, then loads the model. A `cvp train --promote` that moves the
    alias between the two (v1 -> v2) must not give v2's model under v1's number: the version the run records
    (manifest, history, bridge) is the one it scores with (was: the alias resolved twice, version 1 recorded and
    version 2's model loaded)."""
    import mlflow

    from pipelines.config import load_config
    from pipelines.tracking import load_bundle
    from pipelines.tracking_store import configure_tracking

    keep_mlflow_uris(monkeypatch)
    from tests.pipelines.conftest import clone_registry

    config = clone_registry(challenged, tmp_path)  # v1 champion, v2 challenger
    configure_tracking(Path(load_config(config).mlflow.tracking_dir))
    real = mlflow.MlflowClient.get_model_version_by_alias

    def promoted_meanwhile(self, name, alias):
        found = real(self, name, alias)
        real_set = mlflow.MlflowClient.set_registered_model_alias
        real_set(self, name, alias, "2")  # the other process's promotion lands now
        return found

    monkeypatch.setattr(mlflow.MlflowClient, "get_model_version_by_alias", promoted_meanwhile)
    loaded = load_bundle("models:/customer-value@champion")
    assert loaded.version == "1"
    client = mlflow.MlflowClient()
    assert loaded.run_id == client.get_model_version("customer-value", "1").run_id
    assert loaded.run_id != client.get_model_version("customer-value", "2").run_id


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_tier_rules_changed_between_history_runs_and_a_backfill_before_later_runs_are_said(
    trained, december_history, tmp_path
):
    """A history whose second run applied other tier rules (`tiers.great.top_share` 0.2 -> 0.05): the run, its
    manifest, the team page's transitions and each manager's actions say that the moves come partly from the rules
    (was: "N customers changed tier", a great customer in five "moved" to good, without a word). A run added
    before runs already there (a backfill) says their stable tiers were computed without it (was: nothing)."""
    import re

    import yaml

    from tests.helpers import cvp, scores_manifest
    from tests.pipelines.score_helpers import score_cli_args

    history, site = history_after_december(december_history, tmp_path), tmp_path / "site"
    narrower = tmp_path / "narrow.yaml"
    cfg = yaml.safe_load(trained.config.read_text())
    narrower.write_text(yaml.safe_dump(cfg | {"tiers": {"great": {"top_share": 0.05}}}))
    assert (
        scores_manifest(december_history / "dec.parquet")["history_notes"] == []
    )  # the first run as of 2024-12-01
    # the data runs to 2024-12-31: its later events are said, and listed with the run's warnings
    later = "events on or after the as-of 2024-12-01 are ignored (point in time): orders.ordered_at: "
    assert any(w.startswith(later) for w in scores_manifest(december_history / "dec.parquet")["warnings"])
    out = tmp_path / "b.parquet"
    res = cvp(*score_cli_args(trained, out, "2025-01-01", narrower, "--history", history))
    assert res.exit_code == 0, res.output
    said = "the tier rules changed since the history's run as of 2024-12-01 (tiers.great.top_share: 0.2 then 0.05)"
    assert said in _one_line(res.output)
    assert any(said in note for note in scores_manifest(out)["history_notes"])
    res = cvp("report", "--scores", out, "--out", site, "--config", narrower, "--history", history)
    assert res.exit_code == 0, res.output
    assert said in _one_line(res.output)
    index = (site / "index.html").read_text()
    assert re.search(
        r'id="transitions-rules-changed">The tier rules changed .*tiers\.great\.top_share: 0\.2 then 0\.05',
        index,
    )
    # how many moved by the rules alone (round 19b: the last run's rules on this run's figures give their old tier)
    alone = re.search(
        r"(\d+) of the customers who changed tier did so only by the new rules", _one_line(index)
    )
    # counted by its value: this run's scored customers whose tier changed and whom the default rules
    # (`top_share` 0.2), applied here to this run's figures, give the December run's tier, as its stability rule
    # (`margin`) reports it over the December run's raw tiers (round 20: was the raw tier, 63)
    import pandas as pd

    from models.stability import stable_tiers
    from models.tiers import assign_tiers
    from pipelines.config import load_config

    now = pd.read_parquet(out)
    now = now[now["status"] == "scored"].set_index(
        now.loc[now["status"] == "scored", "customer_id"].astype(str)
    )
    dec = pd.read_parquet(history / "as_of=2024-12-01" / "scores.parquet")
    old_tier = dec.set_index(dec["customer_id"].astype(str))["tier"].astype("string").reindex(now.index)
    horizon = int(scores_manifest(out)["horizon_days"])
    rules = load_config(trained.config).tiers
    raw = assign_tiers(now, rules, horizon)["tier"].astype("object")
    value = rules.value_column.format(h=horizon)
    runs = [
        pd.DataFrame({"customer_id": dec["customer_id"].astype(str), "as_of": "2024-12-01"}).assign(
            tier=dec["raw_tier"].astype("object").to_numpy(), **{value: dec[value].to_numpy()}
        ),
        pd.DataFrame({"customer_id": now.index, "as_of": "2025-01-01", "tier": raw.to_numpy()}).assign(
            **{value: now[value].to_numpy()}
        ),
    ]
    stable = stable_tiers(pd.concat(runs, ignore_index=True), rules.stability, value)
    stable = stable[stable["as_of"] == "2025-01-01"].set_index("customer_id")["reported_tier"]
    under = stable.reindex(now.index).astype("string")
    expected = int(((now["tier"].astype("string") != old_tier) & (under == old_tier)).fillna(False).sum())
    assert alone and int(alone.group(1)) == expected > 0
    pages = sorted(site.glob("manager-*.html"))
    assert pages and all('id="this-month-rules-changed"' in p.read_text() for p in pages)
    # the same rules as the previous run: nothing said
    same = cvp(*score_cli_args(trained, tmp_path / "c.parquet", "2025-02-01", narrower, "--history", history))
    assert same.exit_code == 0, same.output
    assert scores_manifest(tmp_path / "c.parquet")["history_notes"] == []
    # a backfill before the three runs (the margin rule of the default config)
    back = cvp(*score_cli_args(trained, tmp_path / "d.parquet", "2024-11-01", None, "--history", history))
    assert back.exit_code == 0, back.output
    later = (
        "the history already holds later runs (2024-12-01, 2025-01-01, 2025-02-01): their stable tiers were"
    )
    assert later in _one_line(back.output)
    assert any(later in note for note in scores_manifest(tmp_path / "d.parquet")["history_notes"])


def _recorded_training_run(history, as_of: str, run_id: str, champion: str | None = None) -> None:
    """The history's run as of `as_of` as if scored by a model of another registry (same version number);
    `champion`: that registry's champion then (the run production's there, read by later champion runs)."""
    import json

    run_file = history / f"as_of={as_of}" / "run.json"
    info = json.loads(run_file.read_text())
    assert info["model_run_id"], info  # recorded by the run
    info |= {"model_run_id": run_id} | ({} if champion is None else {"champion_version": champion})
    run_file.write_text(json.dumps(info))


def test_the_same_version_number_from_another_registry_is_a_changed_model(
    challenged, trained, december_history, tmp_path, monkeypatch
):
    """A history scored by v1 of one registry, then by v1 of another (a tracking store started again, a second
    server): the numbers match, the models do not. The run says the model changed and why it cannot split the
    change, and the manager pages say the model was retrained (was: taken for the same model: no bridge, no note,
    every change of expected value put on the customers' data). A version whose number the registry still has but
    from another training run is never used for the split (was: v2 of this registry taken for the run's v2)."""
    from tests.helpers import cvp, scores_manifest
    from tests.pipelines.conftest import clone_registry
    from tests.pipelines.score_helpers import score_cli_args

    keep_mlflow_uris(monkeypatch)
    history, site = (
        history_after_december(december_history, tmp_path),
        tmp_path / "site",
    )  # scored by v1 as of 2024-12-01
    _recorded_training_run(history, "2024-12-01", "0" * 32)  # v1, trained elsewhere
    out = tmp_path / "b.parquet"
    res = cvp(*score_cli_args(trained, out, "2025-01-01", None, "--history", history))
    assert res.exit_code == 0, res.output
    bridge = scores_manifest(out)["bridge"]
    assert bridge["old_model_version"] == "1" and "trained by MLflow run" in bridge["note"], bridge
    assert "0" * 32 in bridge["note"] and "another registry" in " ".join(res.output.split())
    res = cvp("report", "--scores", out, "--out", site, "--config", trained.config, "--history", history)
    assert res.exit_code == 0, res.output
    pages = sorted(site.glob("manager-*.html"))
    assert pages and all('id="this-month-model-changed"' in p.read_text() for p in pages)
    listed = cvp("history", "--history", history)  # the two v1 told apart by their training runs
    assert listed.exit_code == 0 and "1 (run 00000000)" in listed.output, listed.output
    assert f"1 (run {scores_manifest(out)['model_run_id'][:8]})" in listed.output
    # another registry's v2 is not the v2 that scored the history's run: no split with it
    config = clone_registry(challenged, tmp_path / "registry")  # v1 champion, v2 challenger
    other = tmp_path / "other-history"
    model2 = ("--model", "models:/customer-value/2")
    first = cvp(
        *score_cli_args(trained, tmp_path / "c.parquet", "2024-12-01", config, "--history", other, *model2)
    )
    assert first.exit_code == 0, first.output
    _recorded_training_run(other, "2024-12-01", "f" * 32, champion="2")  # v2 the champion of that registry
    out = tmp_path / "d.parquet"
    res = cvp(*score_cli_args(trained, out, "2025-01-01", config, "--history", other))
    assert res.exit_code == 0, res.output
    bridge = scores_manifest(out)["bridge"]
    assert bridge["old_model_version"] == "2" and "f" * 32 in (bridge.get("note") or ""), bridge
    assert not any(tmp_path.glob("d.bridge_contributions.parquet"))


def test_a_model_trained_with_other_feature_code_is_said_and_strict_refuses(
    trained, default_scores, other_code_scores, tmp_path, monkeypatch
):
    """A model pickles its boosters, not the code that computes its features: scored after a release changed
    `features/` (or `models/`), its features may be computed otherwise than in training. The model records the
    code it was trained with (`data.code`), every run the code that scored it (`code_version`); other code is a
    warning and `code_difference` in the manifest, and `--strict` refuses (was: nothing recorded on either side,
    scored without a word). The run is the session's `other_code_scores` (other feature code and package, and
    the library of `test_seam_round30.py`)."""
    import pipelines.code_version as code
    from tests.pipelines.score_helpers import score_trained

    now = code.code_version()
    assert default_scores.run.manifest["model_settings"]["data"]["code"] == now
    assert default_scores.run.manifest["code_version"] == now
    assert default_scores.run.manifest["code_difference"] is None
    run, printed = other_code_scores
    said = "the model was trained with other feature or model code than this run's (package"
    assert (
        said in run.manifest["code_difference"] and "features code sha256" in run.manifest["code_difference"]
    )
    assert "models code" not in run.manifest["code_difference"]  # only what changed is named
    # a batch job reads every warning of the run in one list (was: one key per kind of warning, some only printed)
    assert any(w.startswith(said) for w in run.manifest["warnings"]), run.manifest["warnings"]
    drift = run.manifest["drift"]["drifted_features"]
    assert not drift or any(w.startswith("drift above PSI") for w in run.manifest["warnings"])
    printed = " ".join(printed.split())
    assert all(" ".join(w.split()) in printed for w in run.manifest["warnings"])  # what was printed, listed
    monkeypatch.setattr(code, "code_version", lambda: now | {"features_sha256": "0" * 64, "package": "0.2.0"})
    with pytest.raises(StructuralError, match=r"other feature or model code .*--strict refuses"):
        score_trained(trained, tmp_path / "strict.parquet", strict=True)
    assert not (tmp_path / "strict.parquet").exists()


def test_a_report_refuses_a_history_whose_stability_the_scores_did_not_go_through(
    trained, december_history, default_scores, tmp_path
):
    """`cvp report --history DIR` on scores whose tiers were not held by the stability rule over DIR's earlier runs:
    scored without `--history`, or before a run was backfilled under them. Their moves would be counted from
    this run's own tiers (was: 94 customers "changed tier" where the history's own run of the same as-of, same
    run id, had 55). The manifest records the runs the stable tiers came from (`stability_runs`). The history
    sections read the run's own tier and rating rules, whatever the report's `--config`."""
    from tests.helpers import cvp, scores_manifest
    from tests.pipelines.score_helpers import score_cli_args

    history = history_after_december(december_history, tmp_path)  # its run as of 2024-12-01
    own = tmp_path / "2025-01-01.parquet"
    res = cvp(*score_cli_args(trained, own, "2025-01-01", None, "--history", history))
    assert res.exit_code == 0, res.output
    assert list(scores_manifest(own)["stability_runs"]) == ["2024-12-01"]
    alone = default_scores.out  # the same model, data and as-of (2025-01-01) scored without --history
    assert default_scores.run.manifest["as_of"] == "2025-01-01"
    assert scores_manifest(alone)["stability_runs"] is None
    report = (
        "report",
        "--out",
        tmp_path / "site",
        "--config",
        trained.config,
        "--history",
        history,
        "--scores",
    )
    res = cvp(*report, alone)
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    assert "the scores as of 2025-01-01 were scored without --history" in " ".join(res.output.split())
    assert cvp(*report, own).exit_code == 0  # the run the history holds
    thanked = sum(
        'id="this-month-thank-you"' in p.read_text() for p in (tmp_path / "site").glob("manager-*.html")
    )
    assert thanked
    # a report config on another rating scale: the run's letters are still the grades compared (was: no grade
    # read, every thank-you list empty without a word)
    import yaml

    cfg = yaml.safe_load(trained.config.read_text())
    tens = tmp_path / "tens.yaml"
    cuts = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    tens.write_text(yaml.safe_dump(cfg | {"tiers": {"rating": {"scale": "score10", "cut_points": cuts}}}))
    res = cvp("report", "--out", tmp_path / "tens", "--config", tens, "--history", history, "--scores", own)
    assert res.exit_code == 0, res.output
    pages = (tmp_path / "tens").glob("manager-*.html")
    assert sum('id="this-month-thank-you"' in p.read_text() for p in pages) == thanked
    # a run backfilled under it: its stable tiers no longer follow from the history
    res = cvp(*score_cli_args(trained, tmp_path / "nov.parquet", "2024-11-01", None, "--history", history))
    assert res.exit_code == 0, res.output
    res = cvp(*report, own)
    assert res.exit_code == 2, res.output
    assert "over other runs than this history holds before 2025-01-01 (2024-11-01)" in " ".join(
        res.output.split()
    )


def test_a_problem_customer_is_never_listed_for_a_thank_you():
    """A manager page's "Rating upgrades worth a thank-you" lists customers whose rating rose; a customer whose
    tier is problem is told "renegotiate terms or let go" on the same page, so a rating one grade up (D -> C, still
    losing money) is no reason to thank them (was: listed, and a customer who became a problem with a rating up
    was in both "Customers who became problems" and the thank-yous)."""
    import pandas as pd

    from pipelines.config import load_config
    from pipelines.reports.actions import HistoryReport, manager_actions

    cfg = load_config()
    ids = ["P1", "P2", "G1"]
    moves = pd.DataFrame(
        {
            "old_status": "scored",
            "old_tier": ["problem", "good", "good"],
            "new_tier": ["problem", "problem", "great"],
            "old_rating": ["D", "C", "B"],
            "new_rating": ["C", "B", "A"],
            "value_change": [20.0, -50.0, 80.0],
            "old_flags": "",
            "old_account_manager_id": "AM1",
        },
        index=pd.Index(ids, name="customer_id"),
    )
    history = HistoryReport(moves, "2024-12-01", [], [str(g) for g in cfg.tiers.rating.grades()])
    page = pd.DataFrame(
        {"customer_id": ids, "flags": "", "manager": "AM1", "tier_reason": "non_positive_value"}
    )
    report_cfg = cfg.report.model_copy(update={"currency": cfg.data.currency})  # as the report job has it
    groups = {
        g["key"]: [r["customer_id"] for r in g["rows"]]
        for g in manager_actions(history, page, report_cfg)["groups"]
    }
    assert groups["thank-you"] == ["G1"]
    assert groups["became-problem"] == ["P2"]


#: each dated table's event time (the demo company's tables)
_EVENT_TIMES = {
    "orders": "ordered_at",
    "returns": "returned_at",
    "tickets": "opened_at",
    "invoices": "issued_at",
    "referrals": "referred_at",
}


def _cut(data: Path, since: str, to: Path) -> None:
    """`data` with only the events from `since` on (the customers and managers whole), written to `to`."""
    import shutil

    import pandas as pd

    shutil.copytree(data, to)
    for name, column in _EVENT_TIMES.items():
        path = to / f"{name}.parquet"
        if path.exists():
            frame = pd.read_parquet(path)
            frame[frame[column] >= pd.Timestamp(since)].to_parquet(path, index=False)
    orders = pd.read_parquet(to / "orders.parquet")
    returns = pd.read_parquet(to / "returns.parquet")
    kept = returns["order_id"].isna() | returns["order_id"].isin(orders["order_id"])
    returns[kept].to_parquet(to / "returns.parquet", index=False)


def test_scoring_data_cut_shorter_than_the_models_windows_is_refused(trained, tmp_path):
    """An export cut short (the last four months of events; the customers table whole) scored by a model trained on
    years of history: every 365-day and lifetime figure would be computed on a part of each customer's history
    and 464 of 1,020 customers would be `no_orders_yet` (was: exit 0 with a drift warning). Refused naming the
    first order, the window and the training data's start; data reaching a whole window back is scored."""
    from tests.pipelines.score_helpers import score_trained

    _cut(trained.data, "2024-09-01", tmp_path / "short")
    with pytest.raises(
        StructuralError, match=r"orders start on 2024-09-\d\d, \d+ days before --as-of 2025-01-01: le"
    ):
        score_trained(trained, tmp_path / "s.parquet", data=tmp_path / "short")
    assert not (tmp_path / "s.parquet").exists()
    _cut(
        trained.data, "2023-12-31", tmp_path / "whole-window"
    )  # 367 days before the as-of: every window is whole
    run = score_trained(trained, tmp_path / "w.parquet", data=tmp_path / "whole-window")
    assert run.manifest["customers_scored"] > 0


def test_the_model_cards_mean_absolute_error_says_its_currency():
    """The team page's model card shows each backtest metric in words beside its name: the mean absolute error is
    an amount per customer, so its words name the model's currency (was: "Mean absolute error (per customer,
    lower is better)" beside 208.072, no unit; the other metrics are ratios)."""
    import pandas as pd

    from pipelines.reports.card import model_card_view

    backtest = pd.DataFrame(
        {"model": "model", "metric": ["value_mae", "value_norm_gini"], "value": [208.072, 0.84], "fold": 0}
    )
    view = model_card_view({"backtest": backtest, "currency": "GBP"}, 365, "EUR")
    words = {m["name"]: m["words"] for m in view["backtest"]["metrics"]}
    assert words["value_mae"] == "Mean absolute error (per customer, in GBP, lower is better)"
    assert "GBP" not in words["value_norm_gini"] and "{" not in words["value_norm_gini"]


def test_the_page_of_customers_without_a_manager_asks_to_assign_them(tmp_path):
    """A customer whose account manager was removed since the last run lands on the page of customers without
    one: its actions ask to assign them a manager and name the one they had (was: "What changed for your
    customers ... moved to you from another account manager since the last run ... Introduce yourself", to
    nobody); a manager's own page keeps its words."""
    from pipelines.config import load_config
    from pipelines.reports import build_reports
    from tests.pipelines.history_fixtures import owner_of, page_rows, previous_run_history
    from tests.pipelines.report_fixtures import demo_report_inputs

    data = demo_report_inputs(60, 3, seed=5)
    history, expected = previous_run_history(data)
    scores = data["scores"]
    taken = {owner_of(expected, key)[0] for key in expected}
    cid = scores.loc[
        scores["account_manager_id"].notna() & ~scores["customer_id"].isin(taken), "customer_id"
    ].iloc[0]
    had = scores.loc[scores["customer_id"] == cid, "account_manager_id"].iloc[0]
    scores.loc[scores["customer_id"] == cid, "account_manager_id"] = None
    args = (scores, data["value_contrib"], data["model_card"])
    kwargs = dict(customers=data["customers"], account_managers=data["account_managers"], history=history)
    paths = build_reports(*args, tmp_path / "site", load_config().report, data["registry"], **kwargs)
    assert paths.unassigned is not None
    page = paths.unassigned.read_text()
    assert cid in page_rows(page, "manager-left")
    assert (
        "Customers who lost their account manager" in page
        and "Assign each of them an account manager" in page
    )
    assert f'had account manager <span class="who">{had}</span> in the last run, none now' in page
    assert (
        "moved to you" not in page and "your customers since" not in page and "Introduce yourself" not in page
    )
    cid, owner = owner_of(expected, "manager-left")  # a manager's own page: as before
    assert "your customers since the run of" in paths.managers[owner].read_text()


def _zero_cost(data: Path, to: Path) -> None:
    """`data` with `orders.cost` written 0 on every order (an export's 0 for a cost it did not have)."""
    import shutil

    import pandas as pd

    shutil.copytree(data, to)
    orders = pd.read_parquet(to / "orders.parquet")
    assert (orders["cost"] > 0).mean() > 0.5  # the training data's costs
    orders.assign(cost=0.0).to_parquet(to / "orders.parquet", index=False)


ZERO_COST = (
    r"orders\.cost: 0 or less on all [\d,]+ values, above 0 on 100% in training: an export that wrote 0"
)


def test_a_model_input_written_0_on_every_row_is_refused(trained, tmp_path):
    """`orders.cost` 0 on every order where the training data had a cost above 0 on every one: the features would
    read a 100% margin for every order (was: exit 0 and a drift warning; 85 of the 255 problem customers of a
    1,000-customer demo company scored good). Refused naming the column, its values and its training share."""
    from tests.pipelines.score_helpers import score_trained

    _zero_cost(trained.data, tmp_path / "zero")
    with pytest.raises(StructuralError, match=ZERO_COST):
        score_trained(trained, tmp_path / "s.parquet", data=tmp_path / "zero")
    assert not (tmp_path / "s.parquet").exists()


def test_one_backtest_fold_is_said_in_the_singular():
    """A data scientist's backtest of one fold reads "1 fold" (was: "Backtest: 1 folds, horizon 365 days")."""
    import io

    from rich.console import Console

    from pipelines.backtest_console import print_backtest
    from tests.pipelines.test_backtest_console import _result

    result = _result()
    result.metrics = result.metrics[result.metrics["fold"] == 0]
    result.fold_cutoffs = result.fold_cutoffs[:1]
    console = Console(file=io.StringIO(), width=120, color_system=None)
    print_backtest(result, 365, console, (0.1, 0.9))
    text = console.file.getvalue()
    assert "Backtest: 1 fold, horizon 365 days" in text and "1 folds" not in text
