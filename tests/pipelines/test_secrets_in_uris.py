"""Secrets beyond a tracking URI's `user:password@` (`tests/pipelines/test_tracking_secrets.py`): a credential in a
query string (`?token=`, `X-Amz-Signature=`, `?key=`), a data URI's key pair (`s3a://KEY:SECRET@bucket/`, its
secret holding `/` and `+`), `postgresql://u:p@host/db` given as `--data` (a path collapses its `//`), and the
values of MLflow's `MLFLOW_TRACKING_TOKEN` / `MLFLOW_TRACKING_PASSWORD`: in none of stdout, stderr, the error
log or the files written. One rule: `features.errors.without_passwords`.

Each test failed on the code before the fix (the `was:` of each docstring)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.errors import without_passwords
from pipelines.cli import app
from tests.helpers import nothing_secret

SECRET = "Zq9/kT+x7Wq"  # an S3 secret key's characters: `/` and `+`, not URL-encoded


def _nothing_secret(res, tmp_path: Path, secret: str = SECRET) -> None:
    nothing_secret(res, tmp_path, secret)


@pytest.mark.parametrize(
    "data",
    [f"s3a://AKIAEXAMPLE:{SECRET}@bucket/data", f"postgresql://analyst:{SECRET}@db.example.com/crm"],
    ids=["s3a-key-pair", "postgresql"],
)
def test_a_data_uri_with_credentials_is_shown_without_them(data, tmp_path, monkeypatch):
    """`cvp validate --data s3a://KEY:SECRET@bucket/data`: the data is not found, and the message names it with its
    secret as `***` (was: `data directory s3a:/AKIAEXAMPLE:Zq9/kT+x7Wq@bucket/data does not exist`: the path
    collapsed `//`, which the rule needed, and the secret's `/` stopped it)."""
    import tempfile

    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    res = CliRunner().invoke(app, ["validate", "--data", data])
    assert res.exit_code == 2 and "does not exist" in res.stderr, res.output
    assert ":***@" in res.stderr, res.output
    _nothing_secret(res, tmp_path)


@pytest.mark.parametrize(
    "query",
    [
        "?token={}",
        "?access_token={}",
        "?password={}",
        "?sv=2022-11-02&sig={}",
        "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={}",
        "?key={}",
    ],
)
def test_a_credential_in_the_tracking_uris_query_is_shown_as_stars(query, tmp_path, monkeypatch):
    """`cvp score --tracking-uri http://host:1/?token=SECRET` (a proxy's credential in the query): the server does
    not answer, and the message names it with the credential as `***` (was: `the MLflow tracking server
    http://127.0.0.1:1/?token=Zq9/kT+x7Wq does not answer`)."""
    import tempfile

    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text("order_id,customer_id,ordered_at,revenue\nO1,C1,2023-01-05,10.5\n")
    uri = "http://127.0.0.1:1/" + query.format(SECRET)
    args = ["score", "--data", str(data), "--as-of", "2023-02-01", "--out", str(tmp_path / "s.parquet")]
    res = CliRunner().invoke(app, [*args, "--tracking-uri", uri])
    assert res.exit_code == 2 and "does not answer" in res.stderr, res.output
    assert "=***" in res.stderr, res.output
    _nothing_secret(res, tmp_path)


@pytest.mark.parametrize("variable", ["MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD"])
def test_mlflows_token_and_password_are_in_no_error_nor_log(variable, tmp_path, monkeypatch):
    """A server's error quoting the request's credentials (`Authorization: Bearer <MLFLOW_TRACKING_TOKEN>`, a proxy
    echoing the basic-auth password) during `cvp train`: the unexpected-error line and its log hold `***` (was:
    the token on stderr and in the log)."""
    import tempfile

    import pipelines.train as train
    from pipelines.config import load_config

    token = "mlf-4c3d2b1a0f9e"
    monkeypatch.setenv(variable, token)

    from mlflow.exceptions import MlflowException

    def refused(
        *args: object,
    ) -> None:  # the tracking client's error (its message is shown: it holds no data)
        raise MlflowException(f"403 from the proxy: credentials {token} refused for user ann")

    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(
        train, "load_for_modelling", lambda *a: (load_config(None), {}, pd.Timestamp("2024-07-01"), {})
    )
    monkeypatch.setattr(train, "check_as_of", lambda *a: None)
    monkeypatch.setattr(train, "ensure_experiment", refused)
    res = CliRunner().invoke(app, ["train", "--data", str(tmp_path)])
    assert res.exit_code == 1 and "credentials *** refused" in res.stderr, res.output
    logs = list((tmp_path / "cvp").glob("error-*.log"))
    assert len(logs) == 1 and "credentials *** refused" in logs[0].read_text()
    _nothing_secret(res, tmp_path, token)


def test_the_rule_masks_each_form_and_keeps_what_is_not_secret(monkeypatch):
    """The forms the rule knows, and what it leaves as written (a port, a path, a plain `key` word, a short
    environment value that would mask ordinary words)."""
    from pipelines.tracking_store import shown_uri

    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pw")  # too short to mask: "pw" would go from every word
    masked = {
        "s3a://AKIA:Zq9/kT+x@bucket/data": "s3a://AKIA:***@bucket/data",
        "postgresql://u:p@host/db": "postgresql://u:***@host/db",
        "https://h/x?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=ab12&X-Amz-Security-Token=zz&a=1": (
            "https://h/x?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***&a=1"
        ),
        "https://acc.blob.core.windows.net/c?sv=2022&sig=a%2Bb&se=2024": (
            "https://acc.blob.core.windows.net/c?sv=2022&sig=***&se=2024"
        ),
        "AccountName=acc;AccountKey=Zq9/kT+x==;EndpointSuffix=core": (
            "AccountName=acc;AccountKey=***;EndpointSuffix=core"
        ),
        'headers {"Authorization": "Bearer eyJhbGciOi.x.y"}': 'headers {"Authorization": "Bearer ***"}',
    }
    for given, shown in masked.items():
        assert without_passwords(given) == shown
    # the scores manifest's `tracking_uri` and the model card go through `shown_uri`
    assert (
        shown_uri("https://ann:s3cret@mlflow.example.com/?token=t0k")
        == "https://ann:***@mlflow.example.com/?token=***"
    )
    kept = [
        "http://127.0.0.1:5000/api/2.0/mlflow-artifacts/artifacts/1",
        "s3a://bucket/data/orders/part-0.parquet",
        "a key=2 with keyboard=1, 12:30 at a:b@c",
        "cvp score --data /srv/pw/data --as-of 2024-01-01",
    ]
    for text in kept:
        assert without_passwords(text) == text


def test_the_note_of_a_score_run_stopped_after_loading_shows_no_data_secret():
    """`cvp score --engine spark --data s3a://KEY:SECRET@bucket/data --rejects DIR` stopped after loading says how
    to get the rejects with `cvp validate --data ...`: the data URI is shown without its secret."""
    from pipelines.loading import rejects_note

    note = rejects_note(f"s3a://AKIAEXAMPLE:{SECRET}@bucket/data", None, Path("rej"))
    assert "cvp validate --data" in note and "AKIAEXAMPLE:***@bucket" in note and SECRET not in note
