"""Hostile input classes closed in the sixth hunt: a table file without its header line whose first row holds only
names, outputs written over the tables of `--data`, a `--tracking-uri` that is a directory or a malformed store.
Tiny hand-written files; no training, no model."""

from __future__ import annotations

import pytest

from features.validation import StructuralError
from tests.helpers import quiet

ORDERS = "order_id,customer_id,ordered_at,revenue\nO1,C1,2023-01-05,10.5\nO2,C2,2023-01-06,20\n"


def test_a_headerless_file_whose_first_row_holds_only_names_prints_none_of_them(tmp_path):
    """A managers export saved without its header line: `AM001,Ann Smith` read as the header (was: "missing
    required column(s) account_manager_id; columns present: AM001, Ann Smith" and the next managers' names
    under "First rows", in the terminal and batch logs). A header with one cell named like a column keeps the
    missing-columns message, which names its cells."""
    from pipelines.io import load_data

    (tmp_path / "orders.csv").write_text(ORDERS)
    (tmp_path / "account_managers.csv").write_text("AM001,Ann Smith\nAM002,Bob Jones\nAM003,Chloé Martin\n")
    with pytest.raises(
        StructuralError, match=r"'account_managers' is missing required column\(s\) account_"
    ) as err:
        load_data(tmp_path)
    message = str(err.value)
    assert "first line may be a data row" in message
    for personal in ("Ann", "Smith", "Bob", "Chlo", "AM001", "AM002"):
        assert personal not in message
    (tmp_path / "account_managers.csv").write_text(
        "manager,name\nAM001,Ann Smith\n"
    )  # `manager`: a near miss
    with pytest.raises(StructuralError, match=r"columns present: manager, name") as err:
        load_data(tmp_path)
    assert "Ann" not in str(err.value)  # `name` is a personal column: masked in the rows


def test_an_output_named_like_a_table_of_the_data_directory_is_refused(tmp_path):
    """`cvp score --out data/orders.parquet` replaced the orders table with the scores (exit 0; the next run read
    scores as orders), `cvp features --out data/orders.csv` the same, `--rejects data` put each table's rejects
    over it. Refused before anything is read or written; outputs elsewhere in it are fine."""
    from pipelines.engines.run import run_score
    from pipelines.jobs import run_features, run_validate

    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text(ORDERS)
    for out in ("orders.csv", "Orders.parquet", "customers.parquet"):
        with pytest.raises(
            StructuralError, match=r"the scores file .* is in the data directory .* would replace"
        ):
            run_score(data, "2023-02-01", data / out, None, "pandas", None, None, None, quiet(200))
        with pytest.raises(StructuralError, match=r"the feature table .* would replace or shadow the '"):
            run_features(data, "2023-02-01", data / out, None, None, quiet(200))
    for rejects in (data, data / "orders"):
        with pytest.raises(StructuralError, match=r"the rejects directory .* is in the data directory"):
            run_validate(data, None, rejects, None, quiet(200))
    assert (data / "orders.csv").read_text() == ORDERS and sorted(p.name for p in data.iterdir()) == [
        "orders.csv"
    ]
    run_validate(data, None, data / "rejects", None, quiet(200))  # a folder of its own in the data directory
    run_features(data, "2023-02-01", data / "features.csv", None, None, quiet(200))
    assert (data / "orders.csv").read_text() == ORDERS


@pytest.mark.parametrize(
    "uri, message",
    [
        (
            "mlruns",
            r"names a directory: MLflow's file store is not used\. Give `sqlite:///.*mlruns/mlflow\.db`",
        ),
        ("file:///srv/mlruns", r"names a directory: .*`sqlite:////srv/mlruns/mlflow\.db`"),
        ("sqlite://mlflow.db", r"names no sqlite file"),
        ("sqlite:///", r"names no sqlite file"),
    ],
)
def test_a_tracking_uri_that_is_a_directory_or_names_no_store_says_what_to_write(tmp_path, uri, message):
    """`--tracking-uri mlruns` (an MLflow 2 habit) gave `cvp train` an unexpected MlflowException (exit 1, a
    traceback log) and `cvp score` "Train one first with `cvp train`" though the directory held the model;
    `sqlite://mlflow.db` SQLAlchemy's list of URL forms as a model that "could not be loaded (corrupt)"."""
    from pipelines.tracking_store import configure_tracking

    with pytest.raises(StructuralError, match=message):
        configure_tracking(tmp_path / "mlruns", uri)


def test_a_champion_whose_files_were_deleted_is_named_so_not_asked_to_be_trained(tmp_path, trained):
    """The registry's champion with its artefacts deleted (a cleaned disk, a store copied without them) was
    "cannot load model ...: No such artifact: ''. Train one first with `cvp train`", as if none was registered."""
    import shutil

    import yaml

    from pipelines.tracking import load_bundle
    from pipelines.tracking_store import configure_tracking
    from tests.pipelines.conftest import clone_registry

    config = clone_registry(trained, tmp_path)
    mlruns = tmp_path / "mlruns"
    shutil.rmtree(mlruns / "artifacts" / "models")
    assert yaml.safe_load(config.read_text())["mlflow"]["tracking_dir"] == str(mlruns)
    configure_tracking(mlruns)
    with pytest.raises(
        StructuralError, match=r"is registered \(version 1\) but its files cannot be read"
    ) as err:
        load_bundle("models:/customer-value@champion")
    assert "Train one first" not in str(err.value)
