"""Round 25 of the train/score seam: what still let a wrong result through with exit 0, or two paths that should
agree did not.

Each test failed on the code before its fix (the `was:` of each docstring).
"""

from __future__ import annotations

import html
import json
import re
import shutil

import pandas as pd

#: What `pipelines.data_age.stopped_tables` said of the demo's data with its tickets cut half a year before the
#: as-of (its start; the manifest's `stopped_tables` holds the whole sentence).
STOPPED = (
    "tickets.opened_at ends on 2025-06-29, 185 days before --as-of 2026-01-01, while 594 orders came after it: "
    "at its rate (562 rows for 2,980 orders) about 112 rows of tickets were expected since (scoring."
    "stopped_table_rows 20; its longest gap before was 43 days), an export that stopped? Every feature and tier "
    "rule reading tickets counts nothing since for every customer; export the missing tickets rows, or score with "
    "--as-of 2025-06-30"
)


def _text(page) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.read_text())).split())


def test_a_table_whose_export_stopped_is_said_atop_every_page_and_on_the_model_card(tmp_path):
    """The demo's data with its tickets cut half a year before the as-of: `cvp score` warned "tickets.opened_at
    ends on 2025-06-29 ... an export that stopped?" in the console and the manifest's `stopped_tables`, but the
    pages made of the run said nothing: 17 of its 79 problem customers read good or great on their manager's page
    (no ticket since June: no cost to serve), the team page's model card silent, `cvp profile`'s page too (was,
    measured with `cvp report` / `cvp profile` on that run). Now the warning is on the model card and atop every
    page, as old data is."""
    from pipelines.jobs import run_card_notes
    from pipelines.reports.card import model_card_view
    from pipelines.reports.phrases import page_banners
    from tests.pipelines.test_seam_round24 import _pages

    notes = run_card_notes({"stopped_tables": [STOPPED]})
    facts = {f["key"]: f["value"] for f in model_card_view(notes, 365, "EUR")["facts"]}
    assert facts["Stopped tables"] == STOPPED
    said = page_banners(notes, "2026-01-01", 1.0)["stopped_tables"]  # `cvp profile`'s page reads them too
    assert said and said.startswith(STOPPED) and "a costly customer can read as good" in said
    assert page_banners(run_card_notes({"stopped_tables": []}), "2026-01-01", 1.0)["stopped_tables"] is None
    paths = _pages(notes, tmp_path / "site", 6, 2)
    pages = [paths.index, *paths.managers.values()]
    assert len(pages) >= 3
    for page in pages:
        assert f"Part of the data stopped: {STOPPED}." in _text(page), page


def test_a_run_with_a_stopped_table_is_kept_in_the_history_marked_and_read_by_no_later_stable_tier(
    history_runs, tmp_path
):
    """A run whose tickets export had stopped (its customers read without a ticket since: problem customers
    good) entered `--history` like any other, unmarked, and the next runs' stable tiers read its tiers (was,
    measured on the demo: the run as of 2026-01-01 with its tickets cut in June, then the whole data as of
    2026-01-14 with `tiers.stability: margin`: 2 great customers held good by it). Now, as a run of stale data
    is, it is kept and marked (run.json's `stopped_tables`, `cvp history`'s as-of), the stability rule of later
    runs skips it and their `history_notes` say so."""
    from pipelines.history import history_notes, run_history
    from pipelines.history_append import append_run
    from pipelines.history_store import PRODUCTION, list_runs, tier_runs
    from tests.helpers import quiet, scores_manifest

    root, fixture_history = history_runs
    history = tmp_path / "history"
    shutil.copytree(fixture_history, history)
    last = root / "scores-2025-01-01.parquet"
    manifest = scores_manifest(last) | {"stopped_tables": [STOPPED]}
    from pipelines.outputs import output_paths

    # the last run again (its stable tiers read the same runs), told its tickets stopped: run.json records it
    append_run(history, pd.read_parquet(last), output_paths(last)["contributions"], manifest)
    run_file = json.loads((history / "as_of=2025-01-01" / "run.json").read_text())
    assert run_file["stopped_tables"] == [STOPPED]
    # the middle run's tickets stopped: the stable tiers of the run after it read the one before it
    middle = history / "as_of=2024-12-01" / "run.json"
    middle.write_text(json.dumps(json.loads(middle.read_text()) | {"stopped_tables": [STOPPED]}))
    runs = list_runs(history)
    assert [r.as_of for r in tier_runs(runs, PRODUCTION)] == ["2024-11-01"]
    notes = history_notes(history, "2025-02-01", None, "margin")
    assert any("runs as of 2024-12-01, 2025-01-01 scored data an export of which stopped" in n for n in notes)
    assert history_notes(history, "2025-02-01", None, "none") == []
    console = quiet(width=200)
    run_history(history, console)
    out = console.file.getvalue()
    assert "2024-12-01 (stopped export)" in out and "2024-11-01 (" not in out


def _orders_and_bills(days: pd.DatetimeIndex) -> dict[str, pd.DataFrame]:
    """An order and an invoice a day over `days` (UTC, 10:00), each with a cost and a payment day."""
    return {
        "orders": pd.DataFrame(
            {"ordered_at": days, "revenue": 10.0, "cost": 6.0, "discount": 0.0, "promo": False}
        ),
        "invoices": pd.DataFrame(
            {"issued_at": days, "paid_at": days + pd.Timedelta(days=20), "disputed": False}
        ),
    }


def test_a_model_input_an_export_stopped_filling_is_said():
    """The demo's orders without a cost from July on (the column there, emptied on the orders of the last half
    year), scored as of 2026-01-01: exit 0, not a word (was, measured with `cvp score`): every margin of the
    last half year guessed at `features.margin_rate_when_cost_missing` (30% for the demo's 41%), the expected
    total 19% lower, 13 customers in another tier; the whole table's share of orders with a cost (85%) passed
    the model inputs' check. The same with `invoices.paid_at` emptied: 16 tiers moved, a drift warning only.
    Now a model input whose values stop while its table runs on is said (`data_age.stopped_columns`); invoices
    of the last weeks not paid yet (the last paid one days old) are not, nor a column whose rows since would
    hold fewer than `scoring.stopped_table_rows` values at its share."""
    from pipelines.config import load_config
    from pipelines.data_age import filled_by_day, stopped_columns

    cfg = load_config()
    days = pd.date_range("2024-01-01", "2025-12-31", freq="D", tz="UTC") + pd.Timedelta(hours=10)
    tables = _orders_and_bills(days)
    as_of = pd.Timestamp("2026-01-01", tz="UTC")
    bills = tables["invoices"]
    bills.loc[bills["paid_at"] >= as_of, "paid_at"] = pd.NaT  # the last 20 days' invoices not paid yet

    def said(frames):
        warned: list[str] = []
        counts = {n: filled_by_day(n, t) for n, t in frames.items()}
        out = stopped_columns(counts, as_of, cfg.labels, cfg.scoring.stopped_table_rows, warned.append)
        assert out == warned
        return out

    assert said(tables) == []
    cut = {n: t.copy() for n, t in tables.items()}
    cut["orders"].loc[cut["orders"]["ordered_at"] >= "2025-07-01", "cost"] = None
    cut["invoices"].loc[cut["invoices"]["issued_at"] >= "2025-07-01", "paid_at"] = pd.NaT
    (cost, paid) = said(cut)
    assert cost.startswith(
        "orders.cost has no value after 2025-06-30, 184 days before --as-of 2026-01-01, while 184 rows of orders "
        "came after it: at its share of rows with a value until then (100%) about 184 values were expected since"
    ), cost
    assert "score with --as-of 2025-07-01" in cost and "a guessed margin" in cost
    # by the day of the last payment (the invoices of June paid 20 days on): a payment day is not filled later
    assert paid.startswith("invoices.paid_at has no value after 2025-07-20, 164 days before"), paid
    # late payers: invoices of before the stop paid months on, their payments trickling in after it (a gap of
    # 66 days between the last two on the demo's data): the column's own longest gap is of its older days (was,
    # of all: this stop unsaid)
    late = {n: t.copy() for n, t in cut.items()}
    bills = late["invoices"]
    slow = (
        (bills.index % 60 == 0) & (bills["issued_at"] < "2025-07-01") & (bills["issued_at"] >= "2025-05-20")
    )
    bills.loc[slow, "paid_at"] = bills.loc[slow, "issued_at"] + pd.Timedelta(days=150)
    got = said(late)
    assert [w[:70] for w in got] == [
        cost[:70],
        "invoices.paid_at has no value after 2025-11-21, 40 days before --as-of",
    ], got
    # the way out: the day after the last invoice issued with a payment, before the stop (review of round 25 b,
    # was: "--as-of 2025-11-22", the day after the last late payment, its invoices of July-November read unpaid)
    assert got[1].endswith("or score with --as-of 2025-07-01"), got[1]
    # a satisfaction survey answered on one ticket in 40: its last answer weeks ago is not a stop
    few = {"orders": cut["orders"].assign(cost=6.0)}
    few["orders"]["cost"] = few["orders"]["cost"].where(pd.Series(range(len(days))) % 40 == 0)
    few["orders"].loc[few["orders"]["ordered_at"] >= "2025-11-01", "cost"] = None  # 61 orders x 1/40
    assert said(few) == []
    # a survey sent each quarter (every ticket of its first month answered, a third of them): quiet since October's
    # end, as it always is between two (without its own longest gap: warned, 92 tickets at 33% expected since)
    tickets = pd.DataFrame({"opened_at": days, "satisfaction": 4.0})
    tickets["satisfaction"] = tickets["satisfaction"].where(days.month.isin([1, 4, 7, 10]))
    assert said({"tickets": tickets}) == []
    stopped = tickets.assign(satisfaction=tickets["satisfaction"].where(days < "2025-04-01"))
    assert said({"tickets": stopped})[0].startswith("tickets.satisfaction has no value after 2025-01-31")


def test_the_spark_driver_sums_the_batches_days_as_the_whole_tables():
    """The Spark driver holds no orders' cost nor invoices' payment day: it sums `filled_by_day` of the batches
    as they stream (`spark_driver_view.StreamedCounts`, no Spark job), the whole tables' counts, and the run reads
    them (`SparkTables.filled_days`) instead of its cut tables' (was: nothing counted)."""
    from pipelines.data_age import filled_by_day
    from pipelines.engines.spark_driver_view import SUM_PARTS, StreamedCounts

    days = pd.date_range("2025-01-01", periods=200, freq="13h", tz="UTC")
    tables = _orders_and_bills(days)
    tables["orders"].loc[::3, "cost"] = None
    summed = StreamedCounts()
    for name, frame in tables.items():
        for start in range(0, len(frame), 7):  # more batches than SUM_PARTS: folded on the way
            summed.add(name, frame.iloc[start : start + 7])
    assert len(tables["orders"]) / 7 > SUM_PARTS
    from pipelines.data_age import summed_days

    for name, frame in tables.items():
        whole = filled_by_day(name, frame)
        pd.testing.assert_frame_equal(summed_days(summed.days[name]), whole, check_freq=False)
        assert whole["rows"].sum() == len(frame) and 0 < whole.drop(columns="rows").sum().min() <= len(frame)


def test_a_run_whose_costs_stopped_says_it_in_its_manifest_and_on_every_page(trained, tmp_path):
    """Through the real run: the fixture's data with its orders' cost emptied from 2024-07-01 on, scored as of
    2025-01-01 (was: exit 0, its manifest's `warnings` empty of it). The manifest lists the stopped column with
    the stopped tables (`stopped_tables`: the pages' banner and the history read them), in its warnings too."""
    from pipelines.jobs import run_card_notes
    from pipelines.reports.phrases import page_banners
    from tests.pipelines.score_helpers import score_trained

    data = tmp_path / "data"
    shutil.copytree(trained.data, data)
    (orders,) = data.glob("orders.*")
    frame = pd.read_parquet(orders)
    frame.loc[frame["ordered_at"] >= pd.Timestamp("2024-07-01", tz=frame["ordered_at"].dt.tz), "cost"] = None
    frame.to_parquet(orders)
    manifest = score_trained(trained, tmp_path / "out" / "s.parquet", data=data).manifest
    (stopped,) = manifest["stopped_tables"]
    assert stopped.startswith("orders.cost has no value after 2024-06-30") and stopped in manifest["warnings"]
    assert stopped in page_banners(run_card_notes(manifest), "2025-01-01", 1.0)["stopped_tables"]


def test_categories_unseen_in_training_and_model_inputs_it_lacked_are_said_on_the_model_card():
    """A new region on 12 of the demo's customers (`'Central'`): `cvp score` warned "categories unseen in training,
    scored as missing: profile_region: 'Central' (4 customers)" (the scored ones) in the console and the manifest,
    but the team page made of the run said nothing of it (was, measured with `cvp report`). Now the same words
    (`score_console.unseen_categories`, the one phrase of both) are on the model card; so is the run's warning of
    a table the model was trained without (a model of the demo's data without tickets, v3, scored with them:
    `input_column_differences`)."""
    from pipelines.jobs import run_card_notes
    from pipelines.reports.card import model_card_view

    said = "categories unseen in training, scored as missing: profile_region: 'Central' (4 customers)"
    notes = run_card_notes({"unseen_categories": {"profile_region": {"Central": 4}}})
    facts = {f["key"]: f["value"] for f in model_card_view(notes, 365, "EUR")["facts"]}
    assert facts["Unseen categories"] == said
    assert "unseen_categories" not in run_card_notes({"unseen_categories": {}})
    # a table the model was trained without, in this data: the run's warning on the card too (was: only the
    # training's feature manifest, "Service effort (tickets table absent)", beside it)
    other = (
        "table tickets: in this data, not in the model's training data: the model scored these customers as "
        "trained, without it (its profit and service effort features as it learnt them); the tier rules and "
        "reports read it; train a model on data with it for scores that use it"
    )
    notes = run_card_notes({"input_column_differences": [other]})
    facts = {f["key"]: f["value"] for f in model_card_view(notes, 365, "EUR")["facts"]}
    assert facts["Model inputs"] == other


def test_the_model_card_of_scores_whose_champion_was_replaced_says_which_is_champion_now(
    trained, tmp_path, monkeypatch
):
    """`cvp report` of a run scored by champion v1 after `cvp models promote 2`: the model card said "Version 1"
    and nothing else, read as the model in production (was, measured on the demo's store: v1 scored, v2 trained
    and promoted, the report of v1's scores made again). Now the card says which version is champion now and
    that the next `cvp score` uses it; the card of the champion's own scores says nothing of it."""
    from pipelines.config import load_config
    from pipelines.mlflow_import import mlflow
    from pipelines.tracking_card import model_card
    from pipelines.tracking_store import configure_tracking
    from tests.helpers import keep_mlflow_uris
    from tests.pipelines.conftest import clone_registry

    keep_mlflow_uris(monkeypatch)
    config = load_config(clone_registry(trained, tmp_path))
    configure_tracking(tmp_path / "mlruns")
    client = mlflow.MlflowClient()
    v1 = client.get_model_version("customer-value", "1")
    client.create_model_version("customer-value", v1.source, run_id=v1.run_id)
    client.set_registered_model_alias("customer-value", "champion", "2")
    card = model_card("1", config, 365, run_id=v1.run_id)
    assert card["champion_now"] == (
        "version 2, not version 1 that made these scores: the next `cvp score` uses version 2"
    )
    assert card["champion_now_version"] == "2"  # round 26: the banner atop every page (`champion_now_banner`)
    assert "champion_now" not in model_card("2", config, 365, run_id=v1.run_id)


def test_training_says_an_export_that_stopped_and_names_it_in_its_run():
    """`cvp train` / `cvp backtest` on data whose orders lost their cost from July on, or whose tickets export
    stopped then, trained with no word (was, round 25: only `cvp score` asked `data_age`): the latest cutoffs'
    features and labels read guessed margins and no ticket, and the model learned that. Now the training says it
    in the one rule's words (`data_age.stopped_inputs`, the way out "train with --as-of"), names the columns in
    its MLflow run (a param, no value of any row; "none" when it found none) and keeps them as the model's
    warnings (`keep_stops`, `cvp train`'s one call). The promotion rule does not hold such a model back (the
    review of round 25 b: a sample escaped it, a table that really ended held every later model): the warning
    travels with the model."""
    from types import SimpleNamespace

    from rich.console import Console

    import pipelines.training_stops as training_stops
    from pipelines.config import load_config
    from pipelines.training_stops import keep_stops, stopped_in_training, stopped_param

    cfg = load_config()
    days = pd.date_range("2024-01-01", "2025-12-31", freq="D", tz="UTC") + pd.Timedelta(hours=10)
    tables = _orders_and_bills(days)
    tables["tickets"] = pd.DataFrame({"opened_at": days[::2]})
    as_of = pd.Timestamp("2026-01-01", tz="UTC")
    bills = tables["invoices"]
    bills.loc[bills["paid_at"] >= as_of, "paid_at"] = pd.NaT  # the last weeks' invoices not paid yet

    def said(frames, what="train"):
        console = Console(record=True, width=10_000)
        out = stopped_in_training(frames, as_of, cfg, console, what)
        printed = console.export_text()
        assert all(f"warning: {w}" in printed for w in out), printed
        return out

    assert said(tables) == [] and stopped_param([]) == {"stopped_inputs": "none"}
    cut = {n: t.copy() for n, t in tables.items()}
    cut["orders"].loc[cut["orders"]["ordered_at"] >= "2025-07-01", "cost"] = None
    cut["tickets"] = cut["tickets"][cut["tickets"]["opened_at"] < "2025-07-01"]
    tickets, cost = said(cut)
    assert tickets.startswith("tickets.opened_at ends on 2025-06-30, 184 days before --as-of 2026-01-01"), (
        tickets
    )
    assert cost.startswith("orders.cost has no value after 2025-06-30, 184 days before --as-of 2026-01-01"), (
        cost
    )
    assert "train with --as-of 2025-07-01" in cost and "score with" not in cost
    assert said(cut, "backtest")[1].endswith("or backtest with --as-of 2025-07-01")
    assert stopped_param([tickets, cost]) == {"stopped_inputs": "tickets.opened_at,orders.cost"}
    # `cvp train`'s wiring, one call: warned once, the model's warnings, the run's param
    bundle, console = SimpleNamespace(), Console(record=True, width=10_000)
    assert keep_stops(bundle, cut, as_of, cfg, console) == {"stopped_inputs": "tickets.opened_at,orders.cost"}
    assert bundle.data_warnings_ == [tickets, cost]
    assert console.export_text().count("warning: orders.cost has no value") == 1
    assert keep_stops(bundle, tables, as_of, cfg, console) == {"stopped_inputs": "none"}
    assert bundle.data_warnings_ == []
    assert not hasattr(training_stops, "held_back")  # no promotion hold: the warning travels with the model


def test_cvp_train_records_the_check_of_its_exports_in_its_run(trained, monkeypatch):
    """`cvp train`'s wiring of the check (`training_stops.keep_stops`): the fixture's training (the demo's data,
    no export stopped) logged `stopped_inputs: none` to its MLflow run. Was (review of round 25 b): the three
    lines of the wiring in `train.py` deleted, every test still passed."""
    import mlflow

    from pipelines.tracking_store import configure_tracking
    from tests.helpers import keep_mlflow_uris

    keep_mlflow_uris(monkeypatch)
    configure_tracking(trained.mlruns, reading=True)
    champion = mlflow.MlflowClient().get_model_version_by_alias("customer-value", "champion")
    assert mlflow.MlflowClient().get_run(champion.run_id).data.params["stopped_inputs"] == "none"


def test_a_column_whose_empty_means_no_is_not_a_stopped_export():
    """The demo's orders with `promo` exported TRUE-or-empty and the promotions ended 2025-10-01, scored as of
    2026-01-01: "orders.promo has no value after 2025-09-30 ... an export that stopped filling it?" warned, the
    banner atop every page, the run read by no later stable tier (was, review of round 25 b). An empty promo,
    discount, escalated or disputed MEANS no / 0 to the features (`Column.empty_means_no`: `as_flag`, a discount's
    0): not judged. A column stopped says what it itself costs, not every column's cost: a stopped cost "a guessed
    margin", not "invoices.paid_at: unpaid"; the banner the same (was: "no ticket ... no order" for a cost)."""
    from pipelines.config import load_config
    from pipelines.data_age import stopped_inputs
    from pipelines.jobs import run_card_notes
    from pipelines.reports.phrases import page_banners

    cfg = load_config()
    days = pd.date_range("2024-01-01", "2025-12-31", freq="D", tz="UTC") + pd.Timedelta(hours=10)
    tables = _orders_and_bills(days)
    as_of = pd.Timestamp("2026-01-01", tz="UTC")
    bills = tables["invoices"]
    bills.loc[bills["paid_at"] >= as_of, "paid_at"] = pd.NaT  # the last weeks' invoices not paid yet
    tables["tickets"] = pd.DataFrame({"opened_at": days, "escalated": days.day == 1})
    ended = days >= "2025-10-01"
    tables["orders"]["promo"] = pd.array([True if not e else None for e in ended], dtype="boolean")
    tables["orders"]["discount"] = tables["orders"]["discount"].where(~ended)
    tables["invoices"]["disputed"] = pd.array([True if not e else None for e in ended], dtype="boolean")
    tables["tickets"]["escalated"] = tables["tickets"]["escalated"].astype("boolean").where(~ended)
    rows = {n: len(t) for n, t in tables.items()}
    warned: list[str] = []
    assert (
        stopped_inputs(tables, as_of, rows, cfg.labels, cfg.scoring.stopped_table_rows, warned.append) == []
    )
    assert warned == []
    tables["orders"].loc[ended, "cost"] = None  # a real stop among them: said, with its own cost
    (cost,) = stopped_inputs(tables, as_of, rows, cfg.labels, cfg.scoring.stopped_table_rows, warned.append)
    assert "a guessed margin" in cost and "paid_at" not in cost and "unpaid" not in cost
    banner = page_banners(run_card_notes({"stopped_tables": [cost]}), "2026-01-01", 1.0)["stopped_tables"]
    assert "orders.cost: a guessed margin" in banner
    assert "table" not in banner.split(cost)[1] and "ticket" not in banner.split(cost)[1], banner


def test_a_models_training_warnings_of_its_data_are_said_by_every_scoring_with_it():
    """What the training said of its data is the model's (`CustomerValueModel.data_warnings_`, set by
    `train_and_register`): `scoring_warnings`, which `model_checks.check_model` warns again on every `cvp score`
    of the model and puts in the manifest's `model_warnings` (its model card's line). Was: not kept, the batch
    job scoring with the model never told. A model registered before it (no such attribute) says none."""
    from models.bundle import CustomerValueModel

    bundle = CustomerValueModel.__new__(CustomerValueModel)
    bundle.notes_ = ["the spend model's interval fitted in-sample"]  # a fit note: recorded, not warned
    assert bundle.scoring_warnings() == []
    bundle.data_warnings_ = ["orders.cost has no value after 2025-06-30 ..."]
    assert bundle.scoring_warnings() == ["orders.cost has no value after 2025-06-30 ..."]
