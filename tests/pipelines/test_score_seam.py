"""The train/score seam: a scoring run the model cannot honestly serve stops with a message (shared `trained`
fixture; the test stops before any feature is built)."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

from features.validation import StructuralError
from tests.helpers import as_published
from tests.pipelines.score_helpers import score_trained


def test_an_as_of_before_the_models_latest_training_cutoff_is_refused(trained, tmp_path):
    out = tmp_path / "s.parquet"
    with pytest.raises(StructuralError, match=r"its latest training cutoff, (\S+),") as err:
        # was: scored, by a model that had learnt from what these customers did after the as-of
        score_trained(trained, out, as_of_text="2022-06-01")
    cutoff = pd.Timestamp(re.search(r"cutoff, (\S+),", str(err.value)).group(1))
    assert pd.Timestamp("2022-06-01") < cutoff < pd.Timestamp(trained.as_of)
    assert not out.exists()


def _config_with(trained, tmp_path, **data):
    import yaml

    cfg = yaml.safe_load(trained.config.read_text())
    cfg["data"] = cfg.get("data", {}) | data
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_data_in_another_currency_than_the_models_is_refused(trained, tmp_path):
    """The model records the currency and time zone of its training data; amounts in another currency cannot be
    scored by it (was: scored without a word, even with --strict)."""
    out = tmp_path / "s.parquet"
    with pytest.raises(StructuralError, match=r"trained on amounts in EUR, this run's data is in USD"):
        score_trained(trained, out, config=_config_with(trained, tmp_path, currency="USD"))
    assert not out.exists()


def test_another_time_zone_is_a_difference_strict_refuses(trained, tmp_path):
    with pytest.raises(StructuralError, match=r"data.timezone: model UTC, config Europe/Berlin"):
        score_trained(
            trained,
            tmp_path / "s.parquet",
            config=_config_with(trained, tmp_path, timezone="Europe/Berlin"),
            strict=True,
        )


def _data_without(trained, tmp_path, drop: dict[str, list[str]], tables_gone: tuple[str, ...] = ()):
    """A copy of the fixture's data with some columns removed and some tables left out."""
    data = tmp_path / "data"
    data.mkdir()
    for path in trained.data.iterdir():
        if path.is_file() and not path.name.startswith(".") and path.stem not in tables_gone:  # not the lock
            frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
            frame = frame.drop(columns=drop.get(path.stem, []))
            frame.to_parquet(data / f"{path.stem}.parquet", index=False)
    return data


def test_data_without_a_column_the_model_was_trained_with_is_refused(trained, tmp_path):
    """The model records which columns shaped its features; scoring data without one of them stops the run
    naming it (was: no cost -> a margin guessed from features.margin_rate_when_cost_missing; no paid_at -> every
    invoice unpaid; no tickets table -> a list of missing feature columns; all but the last scored, exit 0)."""
    data = _data_without(trained, tmp_path, {"orders": ["cost"], "invoices": ["paid_at"]}, ("tickets",))
    out = tmp_path / "s.parquet"
    with pytest.raises(StructuralError) as err:
        score_trained(trained, out, data=data)
    message = str(err.value)
    assert "table(s) tickets" in message and "orders.cost" in message and "invoices.paid_at" in message
    assert "guessed margin" in message
    assert not out.exists()


def test_data_without_columns_the_features_never_read_is_scored(trained, tmp_path):
    """Only the columns that shape the features are held to the model: a missing channel, return reason or a
    customer's e-mail changes nothing the model sees, so the run goes on (same scores as with them)."""
    from features.contract import TABLES

    unread = {"orders": ["channel", "quantity"], "returns": ["reason", "order_id"], "customers": ["email"]}
    for table, cols in unread.items():
        assert not any(TABLES[table].column(c).model_input for c in cols)
    run = score_trained(trained, tmp_path / "s.parquet", data=_data_without(trained, tmp_path, unread))
    assert run.manifest["input_column_differences"] == []
    assert run.manifest["customers_scored"] > 100


def test_data_whose_cost_column_arrives_empty_is_refused(trained, tmp_path):
    """An export whose cost column is there but empty is the same as one without it (was: every order's margin
    guessed from features.margin_rate_when_cost_missing, with a note in the feature manifest only)."""
    data = _data_without(trained, tmp_path, {})
    orders = pd.read_parquet(data / "orders.parquet")
    orders.assign(cost=float("nan")).to_parquet(data / "orders.parquet", index=False)
    with pytest.raises(StructuralError, match=r"orders.cost had a value on most training rows and have none"):
        score_trained(trained, tmp_path / "s.parquet", data=data)


def test_a_report_refuses_names_from_data_the_run_did_not_score(trained, default_scores, tmp_path):
    """`cvp report --data` puts the data's customer and manager names on the run's customers: data of another
    company or export would put them on the wrong people (was: pages written, names of the other data attached
    by customer id). The run's own data is accepted (its fingerprint, recorded in the manifest, matches)."""
    from rich.console import Console

    from pipelines.jobs import run_report

    console = Console(file=io.StringIO())
    run_report(default_scores.out, tmp_path / "own", trained.data, None, trained.config, console)
    data = _data_without(trained, tmp_path, {})
    customers = pd.read_parquet(data / "customers.parquet")
    customers.iloc[:-1].to_parquet(data / "customers.parquet", index=False)  # one customer fewer
    with pytest.raises(
        StructuralError, match=r"not the data this run scored: table customers has [\d,]+ rows"
    ):
        run_report(default_scores.out, tmp_path / "other", data, None, trained.config, console)
    customers.assign(name=customers["name"].iloc[::-1].to_numpy()).to_parquet(data / "customers.parquet")
    with pytest.raises(StructuralError, match=r"table customers has content \w+, the run's had content \w+"):
        run_report(default_scores.out, tmp_path / "shuffled", data, None, trained.config, console)
    assert not (tmp_path / "other").exists() and not (tmp_path / "shuffled").exists()


def test_a_profile_from_data_refuses_data_the_run_did_not_score(trained, default_scores, tmp_path):
    """A run without its profile inputs file (an older `cvp score`) is profiled from --data: data the run did not
    score would describe other customers (was: profiled from whatever --data held)."""
    from rich.console import Console

    from pipelines.outputs import output_paths
    from pipelines.profile import run_profile

    scores = tmp_path / "run" / "scores.parquet"
    scores.parent.mkdir()
    for key, path in output_paths(default_scores.out).items():
        if key != "profile_inputs" and path.exists():
            (scores.parent / path.name.replace(default_scores.out.stem, "scores", 1)).write_bytes(
                path.read_bytes()
            )
    as_published(scores)  # its manifest records the files it published: no profile inputs
    data = _data_without(trained, tmp_path, {})
    orders = pd.read_parquet(data / "orders.parquet")
    orders.iloc[:-1].to_parquet(data / "orders.parquet", index=False)
    with pytest.raises(StructuralError, match=r"not the data this run scored: table orders has [\d,]+ rows"):
        run_profile(scores, data, tmp_path / "profile", None, trained.config, Console(file=io.StringIO()))


def test_data_whose_amounts_are_in_cents_is_refused(trained, tmp_path):
    """The model records its training data's typical amounts (median order revenue, return and invoice amount);
    data whose amounts are 100 times larger (cents for units) is refused naming the column (was: scored, exit 0,
    with only a drift warning: the trees took every customer for one of the largest they had seen)."""
    data = _data_without(trained, tmp_path, {})
    for table, cols in {"orders": ["revenue", "cost", "discount"], "returns": ["amount"]}.items():
        frame = pd.read_parquet(data / f"{table}.parquet")
        frame[cols] = frame[cols] * 100
        frame.to_parquet(data / f"{table}.parquet", index=False)
    out = tmp_path / "s.parquet"
    with pytest.raises(StructuralError, match=r"another unit.*orders.revenue: median .* \(x100\)") as err:
        score_trained(trained, out, data=data)
    assert "returns.amount" in str(err.value) and "invoices.amount" not in str(err.value)
    assert not out.exists()


def test_amount_scale_allows_a_business_that_grew():
    from features.contract import amount_scale, check_amount_scale

    orders = pd.DataFrame({"revenue": [10.0, 20.0, 30.0, 0.0]})
    recorded = amount_scale({"orders": orders})
    assert recorded == {"orders.revenue": 20.0}
    check_amount_scale(recorded, {"orders": orders * 5})  # five times larger orders: another season, scored
    check_amount_scale(None, {"orders": orders * 100})  # a model saved before it recorded amounts
    with pytest.raises(StructuralError, match=r"x0.001"):
        check_amount_scale(recorded, {"orders": orders / 1000})
    tickets = pd.DataFrame({"effort_minutes": [30.0, 45.0, 0.0]})
    with pytest.raises(StructuralError, match=r"tickets.effort_minutes: median 0.625 .*hours for minutes"):
        check_amount_scale(amount_scale({"tickets": tickets}), {"tickets": tickets / 60})  # hours for minutes
