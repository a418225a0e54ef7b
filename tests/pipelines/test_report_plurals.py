"""A manager page counts one customer in the singular (was: "1 customers", "1 customers · 3,847 EUR expected")."""

from __future__ import annotations

import re
from pathlib import Path

from pipelines.config import load_config
from pipelines.reports import build_reports
from tests.pipelines.report_fixtures import demo_report_inputs


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_one_customer_is_said_in_the_singular(tmp_path: Path) -> None:
    data = demo_report_inputs(24, 2, seed=5)
    scores = data["scores"].copy()
    scores["account_manager_id"] = ["AM002"] + ["AM001"] * (len(scores) - 1)
    paths = build_reports(
        scores, data["value_contrib"], data["model_card"], tmp_path, load_config().report, data["registry"]
    )
    one = _text(paths.managers["AM002"].read_text(encoding="utf-8"))
    assert "1 customer " in one and re.search(r"\b1 customer · ", one), one[:400]
    assert "1 customers" not in one
    many = _text(paths.managers["AM001"].read_text(encoding="utf-8"))
    assert f"{len(scores) - 1} customers" in many
