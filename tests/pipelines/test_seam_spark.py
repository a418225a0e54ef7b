"""The Spark cases of the seam rounds 8 and 8b (`test_seam_round8.py`, `test_seam_round8b.py`): the same refusals
on `--engine spark`, in a file of their own (the Spark lane, `tests/lanes.py`, the suite's critical path, runs a
file's Spark tests only, so this split no longer changes where the rounds' 35 pandas cases run)."""

from __future__ import annotations

import re

import pytest

from features.validation import StructuralError
from pipelines.loading import check_history_span
from tests.helpers import cvp as _cvp
from tests.pipelines.test_seam_round8b import ZERO_COST, _cut, _zero_cost


def test_data_cut_short_and_a_model_input_written_0_are_refused_on_spark_too(
    trained, spark, tmp_path, monkeypatch
):
    """The refusals of `test_seam_round8b.py`, read and validated by Spark (`--engine spark`), from one Spark load
    (a Spark load is the costly part): the export cut short (the events since 2024-09-01)
    with `orders.cost` written 0 on every order. The cut is refused first, before any customer is scored (the rule
    is `run_score`'s, for both engines); with that refusal only recorded, the same run goes on to the zero costs:
    the values above 0 counted as the tables stream to the driver (which keeps no `cost`), the same refusal.
    (Were two tests, each loading its own data: the cut-short one, and the zero costs since 2023-12-01.)"""
    import pipelines.engines.run as run
    from tests.pipelines.score_helpers import score_trained

    _cut(trained.data, "2024-09-01", tmp_path / "short")
    _zero_cost(tmp_path / "short", tmp_path / "zero")
    refused = []

    def recorded(*args, **kwargs):
        try:
            check_history_span(*args, **kwargs)
        except StructuralError as exc:
            refused.append(str(exc))

    monkeypatch.setattr(run, "check_history_span", recorded)
    with pytest.raises(StructuralError, match=ZERO_COST):
        score_trained(
            trained, tmp_path / "s.parquet", data=tmp_path / "zero", engine="spark", spark_master="local[2]"
        )
    assert len(refused) == 1, refused
    assert re.search(r"orders start on 2024-09-\d\d, \d+ days before --as-of 2025-01-01: le", refused[0])
    assert not (tmp_path / "s.parquet").exists()


def test_cvp_score_on_spark_with_a_bad_driver_memory_exits_2(trained, tmp_path, spark_available):
    from typer.testing import CliRunner

    from pipelines.cli import app
    from tests.pipelines.score_helpers import score_cli_args

    args = [*score_cli_args(trained, tmp_path / "s.parquet"), "--engine", "spark"]
    res = CliRunner().invoke(app, args, env={"CVP_SPARK_DRIVER_MEMORY": "4gb"})
    assert res.exit_code == 2, res.output
    assert "CVP_SPARK_DRIVER_MEMORY = '4gb'" in " ".join(res.output.split())
    assert "unexpected" not in res.output and not (tmp_path / "s.parquet").exists()


@pytest.mark.parametrize(
    ("master", "message"),
    [
        ("garbage", "--spark-master 'garbage' is not a Spark master URL"),
        ("spark://127.0.0.1:1", "the Spark master spark://127.0.0.1:1 does not answer"),
    ],
)
def test_a_spark_master_spark_cannot_use_is_named(trained, tmp_path, spark_available, master, message):
    """(was: `--spark-master garbage` exit 1 `unexpected PySparkRuntimeError: [JAVA_GATEWAY_EXITED]`; a standalone
    master that is not running: 80 s of Spark's retries, then exit 1 `unexpected Py4JJavaError`)."""
    from tests.pipelines.score_helpers import score_cli_args

    args = [*score_cli_args(trained, tmp_path / "s.parquet"), "--engine", "spark", "--spark-master", master]
    res = _cvp(*args)
    assert res.exit_code == 2, res.output
    assert message in " ".join(res.output.split()) and "unexpected" not in res.output
    assert not (tmp_path / "s.parquet").exists()
