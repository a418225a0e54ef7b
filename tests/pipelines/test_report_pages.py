"""Report page names and the report directory: bounded, collision-free names; replaced as a whole."""

from __future__ import annotations

from pathlib import Path

import pytest

import pipelines.reports.pages as pages
from features.validation import StructuralError
from pipelines.config import load_config
from pipelines.reports import REPORT_MARKER, build_reports, page_slugs
from tests.pipelines.report_fixtures import demo_report_inputs


def _build(data: dict, out: Path, managers: list[str]):
    scores = data["scores"].copy()
    scores["account_manager_id"] = [managers[i % len(managers)] for i in range(len(scores))]
    return build_reports(
        scores, data["value_contrib"], data["model_card"], out, load_config().report, data["registry"]
    )


@pytest.fixture(scope="module")
def data() -> dict:
    return demo_report_inputs(12, 2, seed=5)


def test_plain_ids_keep_their_name_and_names_do_not_depend_on_other_ids() -> None:
    alone = page_slugs(["AM001"])
    with_others = page_slugs(["zz-9", "AM001", "../x"])
    assert alone["AM001"] == with_others["AM001"] == "AM001"


def test_names_are_bounded_and_unique_under_case_folding() -> None:
    ids = ["am01", "AM01", "x" * 300, "x" * 299 + "y", "unassigned", "Unassigned", "a/b", "a_b", "ä", "a b"]
    slugs = page_slugs(ids)
    names = [f"manager-{s}.html" for s in slugs.values()]
    assert len({n.casefold() for n in names}) == len(ids)
    assert "manager-unassigned.html" not in {n.casefold() for n in names}
    assert max(len(n.encode()) for n in names) <= 80
    assert all("/" not in n and " " not in n for n in names)


def test_a_very_long_manager_id_gets_a_page(data: dict, tmp_path: Path) -> None:
    long_id = "M" * 240
    paths = _build(data, tmp_path / "r", [long_id, "AM2"])
    assert paths.managers[long_id].exists() and paths.managers["AM2"].exists()
    assert long_id in paths.managers[long_id].read_text(encoding="utf-8")


def test_pages_of_an_earlier_run_do_not_survive(data: dict, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    first = _build(data, out, ["AM1", "AM2", "AM3"])
    assert first.managers["AM3"].exists()
    second = _build(data, out, ["AM1", "AM2"])
    pages = sorted(p.name for p in out.glob("*.html"))
    assert pages == sorted(["index.html", *(p.name for p in second.managers.values())])
    assert not (out / "manager-AM3.html").exists()
    # no staging or retired directory left; the directory's kept lock (`pipelines.locks`) only
    assert sorted(p.name for p in tmp_path.iterdir()) == [".reports.publish.lock", "reports"]


def test_a_directory_with_other_files_is_refused_and_left_alone(data: dict, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(StructuralError, match="not written by cvp"):
        _build(data, out, ["AM1"])
    assert (out / "notes.txt").read_text() == "keep me" and not (out / REPORT_MARKER).exists()


def test_a_run_that_fails_midway_leaves_the_previous_pages(data: dict, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "reports"
    _build(data, out, ["AM1", "AM2"])
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    written = []

    def failing(path: Path, text: str) -> None:
        written.append(path)
        if len(written) == 2:
            raise OSError("disk full")
        path.write_text(text, encoding="utf-8")

    monkeypatch.setattr(pages, "_write_page", failing)
    with pytest.raises(OSError, match="disk full"):
        _build(data, out, ["AM7", "AM8", "AM9"])
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".reports.publish.lock", "reports"]


def test_the_team_page_says_when_the_expected_value_is_extrapolated(data: dict, tmp_path: Path) -> None:
    note = "the predicted totals are extrapolated without a seasonal history: the orders start on 2010-12-01"
    card = {**data["model_card"], "seasonal_history": note}
    scores = data["scores"].assign(account_manager_id="m1")
    cfg = load_config().report
    paths = build_reports(scores, data["value_contrib"], card, tmp_path / "with", cfg, data["registry"])
    page = paths.index.read_text()
    assert f"Expected value: {note}." in page
    # Without a note (a year of history, or an older scoring run) the team page shows none.
    plain = build_reports(
        scores, data["value_contrib"], data["model_card"], tmp_path / "without", cfg, data["registry"]
    )
    assert "seasonal-note" not in plain.index.read_text()
