"""A Spark scoring job starts its Spark session only when it first needs it (`spark_session.session_for_the_job`):
a run refused before it reads any data starts no JVM. No Spark session here: the session function is replaced by
one that records being entered (a real start is what the Spark files' scoring runs and the standalone cluster's
`cvp score --engine spark` exercise, the load and the backend in one session)."""

from __future__ import annotations

import contextlib

import pytest

from features.validation import StructuralError


def test_a_spark_run_refused_before_reading_its_data_starts_no_session(trained, tmp_path, monkeypatch):
    """`cvp score --engine spark --as-of` before the model's training labels end: exit 2 as before, and no session
    entered (was: the session entered around the whole job, a JVM started for a run refused on its as-of). The
    session's settings are still judged first: a wrong `CVP_SPARK_DRIVER_MEMORY` refused before the model's check."""
    from pipelines.engines import spark_session as sessions
    from tests.pipelines.score_helpers import score_trained

    entered: list[str | None] = []

    @contextlib.contextmanager
    def recorded(master=None):
        entered.append(master)
        yield None

    monkeypatch.setattr(sessions, "spark_session", recorded)
    with pytest.raises(StructuralError, match="before the end of the model's training labels"):
        score_trained(trained, tmp_path / "s.parquet", engine="spark", as_of_text="2023-01-01")
    assert entered == []
    monkeypatch.setenv("CVP_SPARK_DRIVER_MEMORY", "lots")
    with pytest.raises(StructuralError, match="CVP_SPARK_DRIVER_MEMORY"):
        score_trained(trained, tmp_path / "s.parquet", engine="spark", as_of_text="2023-01-01")
    assert entered == []
