"""One model, one contract: what is scored is what was trained and backtested (issue 9), and the output set
read back as one run (issue 13, output side)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from features import build_training_set
from features.population import customer_status, known_customers
from features.validation import StructuralError
from pipelines.config import load_config
from pipelines.engines.run import run_score
from pipelines.io import load_data
from pipelines.outputs import SCORES_SCHEMA, read_output_set
from tests.helpers import quiet
from tests.pipelines.score_helpers import AS_OF, score_trained
from tests.settings import override

#: Small, fast models (as the shared fixture's), with a 181-day horizon.
SHORT_CONFIG = {
    "labels": {"horizon_days": 181, "n_cutoffs": 5, "cutoff_step_months": 1},
    "models": {
        "lightgbm": {"n_estimators": 60, "num_leaves": 15, "min_child_samples": 20},
        "churn_lightgbm": {"n_estimators": 60, "num_leaves": 7, "min_child_samples": 50},
        "backtest_folds": 1,
    },
}


def _copy_data(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for p in src.glob("*.parquet"):
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def _config(trained, path: Path, **sections) -> Path:
    base = yaml.safe_load(trained.config.read_text())
    for key, value in sections.items():
        base[key] = base.get(key, {}) | value
    path.write_text(yaml.safe_dump(base))
    return path


@pytest.fixture(scope="module")
def baseline(default_scores):
    """The champion's scores with the configuration it was trained with."""
    return default_scores.run, pd.read_parquet(default_scores.out)


# -- the model carries its contract ------------------------------------------------------------------------------
def test_config_change_between_train_and_score_is_reported_and_neutralised(trained, baseline, tmp_path):
    _, expected = baseline
    changed = _config(trained, tmp_path / "changed.yaml", features={"service_hourly_cost": 90.0})
    console = quiet(400)
    run = score_trained(trained, tmp_path / "s.parquet", config=changed, console=console)
    text = console.file.getvalue()
    assert "features.service_hourly_cost: model 60.0, config 90.0" in text
    got = pd.read_parquet(tmp_path / "s.parquet")
    pred = [c for c in got.columns if c.startswith("pred_") or c in ("tier", "profit_net_365d", "status")]
    pd.testing.assert_frame_equal(got[pred], expected[pred])  # built with the model's settings, not the run's
    assert run.manifest["settings_differences"] == ["features.service_hourly_cost: model 60.0, config 90.0"]
    assert run.manifest["model_settings"]["features"]["service_hourly_cost"] == 60.0
    assert run.manifest["settings_used"]["features"]["service_hourly_cost"] == 60.0
    assert run.manifest["run_policy"]["tiers"]["great"]["top_share"] == 0.2
    with pytest.raises(StructuralError, match="(?s)--strict.*service_hourly_cost"):
        score_trained(trained, tmp_path / "t.parquet", config=changed, strict=True)


def test_a_model_saved_before_settings_existed_falls_back_with_a_warning(trained):
    from pipelines.engines.scoring import resolve_settings
    from pipelines.tracking import load_bundle
    from pipelines.tracking_store import configure_tracking

    cfg = load_config(trained.config)
    configure_tracking(Path(cfg.mlflow.tracking_dir))
    bundle = load_bundle("models:/customer-value@champion").bundle
    for attr in ("feature_config", "label_config", "mapping_digest"):
        delattr(bundle, attr)  # as unpickled from a model registered before the change
    effective, diffs, notes = resolve_settings(bundle, cfg, None, strict=True)
    assert effective == cfg and diffs == [] and "registered before" in notes[0]


# -- one population rule --------------------------------------------------------------------------------------------
def test_cancelled_customer_gets_status_cancelled_and_no_tier(trained, baseline):
    run, s = baseline
    tables = load_data(trained.data).tables
    cust = tables["customers"]
    cancelled = cust.loc[cust["churned_at"] < pd.Timestamp(AS_OF), "customer_id"]
    assert len(cancelled)
    rows = s[s["customer_id"].isin(cancelled)]
    assert (rows["status"] == "cancelled").all()
    assert rows["tier"].isna().all() and rows["rating"].isna().all()
    assert rows["pred_churn_prob_365d"].isna().all() and rows["churn_reason_feature_1"].isna().all()
    assert rows["status_reason"].str.startswith("cancelled on ").all()
    # rows in = rows out: every customer known in any table has one row with a status and a reason
    assert set(s["customer_id"]) == set(known_customers(tables)) and s["customer_id"].is_unique
    assert s["status"].notna().all() and (s["status_reason"].str.len() > 0).all()
    scored = s[s["status"] == "scored"]
    assert scored["tier"].notna().all() and scored["pred_value_365d"].notna().all()
    assert sum(run.manifest["tiers"].values()) == len(scored)


def test_scored_status_is_the_training_population(trained):
    """Scoring's `scored` customers at a cutoff are exactly the rows training selects at that cutoff."""
    cfg = load_config(trained.config)
    tables = load_data(trained.data).tables
    cutoff = pd.Timestamp("2023-06-01")
    one = cfg.labels.model_copy(update={"n_cutoffs": 1})
    training = build_training_set(tables, cutoff + pd.Timedelta(days=365), 365, cfg.features, one)
    assert set(training["cutoff"]) == {cutoff}
    status = customer_status(tables, cutoff, cfg.labels)
    assert set(status.loc[status["status"] == "scored", "customer_id"]) == set(training["customer_id"])
    assert {"lapsed", "no_orders_yet", "scored"} <= set(status["status"])


def test_population_rule_by_hand():

    t = pd.Timestamp
    tables = {
        "customers": pd.DataFrame(
            {
                "customer_id": ["a", "b", "c", "d", "e"],
                "signup_at": [
                    t("2020-01-01"),
                    t("2020-01-01"),
                    t("2020-01-01"),
                    t("2023-12-01"),
                    t("2024-03-01"),
                ],
                "churned_at": [pd.NaT, t("2023-06-01"), pd.NaT, pd.NaT, pd.NaT],
            }
        ),
        "orders": pd.DataFrame(
            {
                "customer_id": ["a", "b", "c", "f"],
                # b ordered before its cancellation (an order a day or more after it is a win-back:
                # `features.population.came_back`, tests/pipelines/test_seam_round9.py)
                "ordered_at": [t("2023-10-01"), t("2023-05-01"), t("2021-01-01"), t("2024-02-01")],
            }
        ),
    }
    got = customer_status(tables, t("2024-01-01"), override("labels", max_lapse_days=730))
    assert dict(zip(got["customer_id"], got["status"], strict=True)) == {
        "a": "scored",
        "b": "cancelled",
        "c": "lapsed",
        "d": "no_orders_yet",
        "e": "no_orders_yet",
        "f": "no_orders_yet",  # first order after the cutoff
    }
    reasons = dict(zip(got["customer_id"], got["status_reason"], strict=True))
    assert reasons["b"] == "cancelled on 2023-06-01"
    assert reasons["c"].startswith("no order for 1,095 days (last order on 2021-01-01)")


# -- stale data, output locations, rules on absent columns ---------------------------------------------------------
def test_stale_data_is_refused_unless_allowed(trained, tmp_path, monkeypatch):
    # today as if in 2040: an --as-of after today is refused whatever the data (`check_after_first_order`)
    monkeypatch.setattr("pipelines.loading.future_from", lambda: pd.Timestamp("2040-01-01"))
    with pytest.raises(StructuralError, match="(?s)stale.*--allow-stale"):
        score_trained(trained, tmp_path / "s.parquet", as_of_text="2035-01-01")
    assert not (tmp_path / "s.parquet").exists()
    console = quiet(400)
    run = score_trained(
        trained, tmp_path / "s.parquet", as_of_text="2035-01-01", allow_stale=True, console=console
    )
    assert "more than labels.max_lapse_days" in run.manifest["stale_data"]
    assert "--allow-stale" in console.file.getvalue()
    # stale means every customer lapsed: all rows are there, with their status, and none is scored
    s = read_output_set(tmp_path / "s.parquet").scores
    assert run.manifest["customers_scored"] == 0 and set(s["status"]) <= {
        "lapsed",
        "cancelled",
        "no_orders_yet",
    }
    # (the demo company's newcomers signed up and never ordered: they stay no_orders_yet, the first rule)
    ordered = set(pd.read_parquet(trained.data / "orders.parquet")["customer_id"])
    assert not s.loc[s["status"] == "no_orders_yet", "customer_id"].isin(ordered).any()
    assert s["tier"].isna().all() and len(s) == run.manifest["customers_total"] > 0
    # its closing line says nobody was scored, never "scored <the whole base>"
    said = console.file.getvalue()
    assert f"{len(s):,} customers: none scored, " in said and f"scored {len(s):,}" not in said


def test_output_location_is_checked_before_the_model_is_loaded(trained, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(StructuralError, match="cannot write"):  # not "cannot load model"
        score_trained(trained, blocker / "scores.parquet", model_uri="models:/customer-value@nosuchalias")


# -- the output set read back ------------------------------------------------------------------------------------------
def test_ids_stay_text_in_a_csv_output_set(trained, tmp_path):
    data = _copy_data(trained.data, tmp_path / "data")
    cust = pd.read_parquet(data / "customers.parquet")
    managers = pd.read_parquet(data / "account_managers.parquet")
    renamed = {m: f"{i:05d}" for i, m in enumerate(sorted(managers["account_manager_id"]), start=1)}
    managers["account_manager_id"] = managers["account_manager_id"].map(renamed)
    cust["account_manager_id"] = cust["account_manager_id"].map(renamed)
    managers.to_parquet(data / "account_managers.parquet", index=False)
    cust.to_parquet(data / "customers.parquet", index=False)
    assignments = data / "assignments.parquet"
    if assignments.exists():
        a = pd.read_parquet(assignments)
        a["account_manager_id"] = a["account_manager_id"].map(renamed)
        a.to_parquet(assignments, index=False)
    score_trained(trained, tmp_path / "s.csv", data=data)
    assert "00001" in (tmp_path / "s.csv").read_text()
    # issue 14: a CSV is read by people, so its reasons are sentences, not the Parquet's stored parts
    header = (tmp_path / "s.csv").read_text().splitlines()[0].split(",")
    assert {"value_reason_1", "value_reason_feature_1", "churn_reason_3"} <= set(header)
    assert not [c for c in header if "_reason_effect_" in c or "_reason_value_" in c]
    back = read_output_set(tmp_path / "s.csv")
    assert "00001" in set(back.scores["account_manager_id"])
    assert set(back.scores["customer_id"]) == set(known_customers(load_data(data).tables))
    for col in SCORES_SCHEMA.ids:
        assert pd.api.types.is_string_dtype(back.scores[col]), col


def _report(scores: Path, out: Path, config: Path) -> tuple[int, str]:
    from pipelines.cli import app

    res = CliRunner().invoke(
        app, ["report", "--scores", str(scores), "--out", str(out), "--config", str(config)]
    )
    return res.exit_code, res.output + (str(res.exception) if res.exception else "")


def test_report_refuses_files_that_are_not_a_scores_set(trained, baseline, tmp_path):
    run, _ = baseline
    manifest = json.dumps(run.manifest, default=str)
    cases = {
        "features.parquet": None,
        "empty.csv": b"",
        "garbage.parquet": bytes(range(256)) * 4,
        "columns.csv": b"a,b\n1,2\n",
    }
    feats = load_data(trained.data).tables["customers"].head(20)
    for name, content in cases.items():
        path = tmp_path / name
        if content is None:
            feats.to_parquet(path)
        else:
            path.write_bytes(content)
        stem = name.rsplit(".", 1)[0]
        (tmp_path / f"{stem}.manifest.json").write_text(manifest)
        code, text = _report(path, tmp_path / "r", trained.config)
        assert code == 2, (name, text)
        assert "scores file" in text, (name, text)
    # a scores file without its manifest
    lone = tmp_path / "lone.parquet"
    shutil.copy(run.contributions_path.with_name("scores.parquet"), lone)
    code, text = _report(lone, tmp_path / "r", trained.config)
    assert code == 2 and "manifest" in text


def test_report_refuses_files_from_different_runs(trained, default_scores, mid_month_scores, tmp_path):
    shutil.copytree(default_scores.out.parent, tmp_path / "a")
    shutil.copy(  # another run's contributions (the session's run as of 2025-01-15; was: scored here)
        mid_month_scores.with_name("scores.contributions.parquet"),
        tmp_path / "a" / "scores.contributions.parquet",
    )
    code, text = _report(tmp_path / "a" / "scores.parquet", tmp_path / "r", trained.config)
    assert code == 2 and "different runs" in text


def test_model_card_comes_from_the_models_own_run_whatever_the_local_store(trained, baseline, tmp_path):
    from pipelines.jobs import run_report

    run, _ = baseline
    scores = run.contributions_path.with_name("scores.parquet")
    elsewhere = _config(
        trained, tmp_path / "elsewhere.yaml", mlflow={"tracking_dir": str(tmp_path / "empty")}
    )
    index = run_report(scores, tmp_path / "reports", None, None, elsewhere, quiet(400))
    html = index.read_text()
    assert '<table class="backtest">' in html and "value_norm_gini" in html
    assert run.manifest["model_run_id"]
    # the status counts are on the team page
    assert 'data-status="cancelled"' in html


# -- minimum data and short histories ------------------------------------------------------------------------------
def test_training_needs_customers_and_both_churn_classes(trained):
    from pipelines.loading import check_training_data

    cfg = load_config(trained.config)
    one = pd.DataFrame(
        {"customer_id": ["c1"], "cutoff": [pd.Timestamp("2024-01-01")], "label_churned_365d": [1.0]}
    )
    with pytest.raises(StructuralError) as exc:
        check_training_data(one, 365, cfg, "train")
    assert "1 customer(s), at least 20 needed" in str(exc.value)
    assert "no negative churn example" in str(exc.value)
    many = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(40)],
            "cutoff": pd.Timestamp("2024-01-01"),
            "label_churned_365d": 0.0,
        }
    )
    with pytest.raises(StructuralError, match="no positive churn example"):
        check_training_data(many, 365, cfg, "train")


def test_train_on_one_customer_and_absurd_horizon_are_clear_errors(trained, new_store, tmp_path):
    from pipelines.train import train_and_register
    from tests.pipelines.conftest import empty_registry

    tables = load_data(trained.data).tables
    keep = tables["orders"]["customer_id"].iloc[0]
    one = {
        name: (df[df["customer_id"] == keep] if "customer_id" in df else df)
        for name, df in tables.items()
        if name != "referrals"
    }
    cfg = load_config(_config(trained, tmp_path / "c.yaml", mlflow={"tracking_dir": str(tmp_path / "m")}))
    empty_registry(new_store, tmp_path / "m")
    end = one["orders"]["ordered_at"].max().normalize() + pd.Timedelta(days=1)  # the data's end: its default
    with pytest.raises(StructuralError, match="(?s)not enough data to train.*1 customer"):
        train_and_register(one, cfg, end, quiet(400))
    far = cfg.model_copy(update={"labels": cfg.labels.model_copy(update={"horizon_days": 100000})})
    with pytest.raises(StructuralError, match="--horizon-days 100000 is not shorter than the history"):
        train_and_register(tables, far, pd.Timestamp("2024-07-01"), quiet(400))


@pytest.fixture(scope="module")
def short_history(new_store, tmp_path_factory):
    """365 days of history (no invoices table), trained with a 181-day horizon: no backtest fold fits, so the rule
    keeps it out; trained with `--promote` (the override said after the rule's reason), it is the champion scored
    here (was: trained twice, without `--promote` then with it)."""
    from pipelines.demo import generate_company, write_company
    from pipelines.loading import default_as_of
    from pipelines.train import train_and_register
    from tests.pipelines.conftest import empty_registry

    root = tmp_path_factory.mktemp("short")
    data = root / "data"
    write_company(generate_company(500, "2023-01-01", "2023-12-31", 5), data)
    (data / "invoices.parquet").unlink()
    config = root / "config.yaml"
    config.write_text(yaml.safe_dump(SHORT_CONFIG | {"mlflow": {"tracking_dir": str(root / "mlruns")}}))
    empty_registry(new_store, root / "mlruns")
    cfg = load_config(config)
    tables = load_data(data).tables
    as_of = default_as_of(tables)
    console = quiet(400)
    forced = train_and_register(tables, cfg, as_of, console, promote=True)
    return root, data, config, as_of, forced, console.file.getvalue()


def test_twelve_months_of_history_train_with_a_181_day_horizon(short_history):
    root, data, config, as_of, forced, printed = short_history
    # the rule's own decision, then the override (said only when --promote differs from the rule's decision)
    decided, _, after = forced.reason.partition("; overridden by --promote")
    assert after == "" and decided != forced.reason
    assert re.search(
        r"^not compared: no backtest fold fits in 36\d days of history for a 181-day horizon; need \d+ days "
        r"\(registered as challenger; --promote makes it champion\)$",
        decided,
    ), forced.reason
    assert forced.reason in " ".join(printed.split())
    assert forced.alias == "champion"
    assert forced.bundle.horizon_days == 181 and forced.bundle.n_training_rows_ > 0


def test_short_history_model_scores_and_lists_rules_on_absent_columns(short_history):
    root, data, config, as_of, *_ = short_history
    console = quiet(400)
    run = run_score(
        data, as_of.date().isoformat(), root / "s.parquet", None, "pandas", None, None, config, console
    )
    s = pd.read_parquet(root / "s.parquet")
    assert (s["status"] == "scored").sum() > 0 and np.isfinite(
        s.loc[s["status"] == "scored", "pred_value_181d"]
    ).all()
    skipped = run.manifest["skipped_rules"]
    assert any(r.startswith("problem:dispute_share") for r in skipped), skipped
    assert "dispute_share" in console.file.getvalue()
    # no invoices table, and the model trained without it: a note, never one of the warnings a job alerts on
    # (was: a warning on every run for a rule this company's data can never feed)
    assert not [w for w in run.manifest["warnings"] if "dispute_share" in w], run.manifest["warnings"]
    assert any(r.startswith("problem:dispute_share") for r in run.manifest["skipped_rules_never_fed"])
    assert "note: tier rules not applied" in console.file.getvalue()


def test_loading_the_model_skips_mlflows_unshown_dependency_scan(trained, monkeypatch):
    """Issue 14: MLflow's dependency and Python-version notes at load go to its logger, which
    `configure_tracking` silences; the scan of every installed distribution behind them is not paid."""
    import mlflow.pyfunc

    from pipelines.tracking import load_bundle
    from pipelines.tracking_store import configure_tracking

    def scan(*args, **kwargs):
        raise AssertionError("MLflow scanned the installed packages for a note nobody sees")

    monkeypatch.setattr(mlflow.pyfunc, "warn_dependency_requirement_mismatches", scan)
    monkeypatch.setattr(mlflow.pyfunc, "_warn_potentially_incompatible_py_version_if_necessary", scan)
    configure_tracking(Path(load_config(trained.config).mlflow.tracking_dir))
    assert load_bundle("models:/customer-value@champion").bundle is not None
