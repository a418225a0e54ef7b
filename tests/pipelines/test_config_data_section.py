"""The `data:` config section is checked when loaded: timezone, date formats, sanity bounds; bad files are clear."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.validation import StructuralError
from pipelines.cli import app
from pipelines.config import load_config
from tests.helpers import config_file as _cfg

runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("data: {timezone: Mars/Olympus}", "unknown timezone 'Mars/Olympus'"),
        ("data: {date_formats: {orders.ordred_at: '%d/%m/%Y'}}", "did you mean 'ordered_at'"),
        ("data: {date_formats: {orders.ordered_at: '%m/%Y'}}", "does not determine a whole date"),
        ("data: {max_values: {order.revenue: 5}}", "did you mean 'orders'"),
        ("data: {max_values: {orders.revenue: .inf}}", "positive finite"),
    ],
)
def test_bad_data_section_is_a_config_error(tmp_path, text, message):
    with pytest.raises(StructuralError, match=message):
        load_config(_cfg(tmp_path, text))


def test_defaults_carry_sanity_bounds_and_user_bounds_extend_them(tmp_path):
    cfg = load_config(_cfg(tmp_path, "data: {max_values: {orders.revenue: 5000}}"))
    assert cfg.data.max_values["orders.revenue"] == 5000
    assert cfg.data.max_values["tickets.effort_minutes"] == 100000


def test_cli_unknown_timezone_and_non_utf8_config_exit_2(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame(
        {"order_id": ["1"], "customer_id": ["c"], "ordered_at": ["2023-01-02"], "revenue": ["1"]}
    ).to_csv(data / "orders.csv", index=False)
    res = runner.invoke(
        app, ["validate", "--data", str(data), "--config", str(_cfg(tmp_path, "data: {timezone: CEST}"))]
    )
    assert res.exit_code == 2 and "unknown timezone" in res.output and "Traceback" not in res.output
    bad = tmp_path / "latin.yaml"
    bad.write_bytes("data: {currency: '\xa3'}\n".encode("latin-1"))
    res = runner.invoke(app, ["validate", "--data", str(data), "--config", str(bad)])
    assert res.exit_code == 2 and "not UTF-8" in res.output


def test_cli_declared_day_first_dates_via_config(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame(
        {
            "order_id": ["1", "2"],
            "customer_id": ["c", "c"],
            "ordered_at": ["15/01/2023", "01/02/2023"],
            "revenue": ["1", "2"],
        }
    ).to_csv(data / "orders.csv", index=False)
    res = runner.invoke(app, ["validate", "--data", str(data)])
    assert (
        res.exit_code == 2 and "data.date_formats" in res.output
    )  # every value non-ISO: structural, with the fix
    cfg = _cfg(tmp_path, "data: {date_formats: {orders.ordered_at: '%d/%m/%Y'}}")
    res = runner.invoke(app, ["validate", "--data", str(data), "--config", str(cfg)])
    assert res.exit_code == 0, res.output
    assert "rejected, not used by" not in res.output  # the rows-rejected warning (any count)
