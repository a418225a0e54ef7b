"""Fast tests of the HTML reports: pages, privacy, phrasing, actions, self-containment, determinism."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.bundle import _quantile_name
from models.tiers import pareto_curves
from pipelines.config import DEFAULT_CONFIG, load_config
from pipelines.reports import ReportConfig, ReportPaths, build_reports
from pipelines.reports.columns import horizon_days_from_columns, interval_columns
from pipelines.reports.phrases import churn_phrase, coverage_phrase, horizon_phrases
from pipelines.reports.waterfall import WaterfallSource, layout_waterfall
from tests.pipelines.report_fixtures import demo_report_inputs

N_CUSTOMERS, N_MANAGERS = 50, 3
REPORT = load_config().report  # the `report:` section of configs/default.yaml
ID_TOKEN = re.compile(r"\bC\d{4}\b")


class _Page(HTMLParser):
    """Collects every text node and attribute value, and the customer table rows in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.attrs: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.rows: list[str] = []  # data-customer-id of <tr class="customer"> in page order
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        a = {k: v or "" for k, v in attrs}
        self.attrs += [(tag, k, v) for k, v in a.items()]
        if tag == "tr" and "customer" in a.get("class", "").split():
            self.rows.append(a["data-customer-id"])

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    def tokens(self) -> set[str]:
        """Customer-id tokens anywhere in the page: text or attributes."""
        blob = " ".join(self.texts) + " " + " ".join(v for _, _, v in self.attrs)
        return set(ID_TOKEN.findall(blob))

    def text(self) -> str:
        return " ".join(" ".join(self.texts).split())


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _build(inputs: dict[str, Any], out: Path, config: ReportConfig | None = None) -> ReportPaths:
    return build_reports(
        inputs["scores"],
        inputs["value_contrib"],
        inputs["model_card"],
        out,
        config or REPORT,
        inputs["registry"],
        customers=inputs["customers"],
        account_managers=inputs["account_managers"],
    )


@pytest.fixture(scope="module")
def inputs() -> dict[str, Any]:
    data = demo_report_inputs(N_CUSTOMERS, N_MANAGERS, seed=3)
    scores = data["scores"].copy()
    # Hand-set rows the tests below read back.
    scores.loc[scores["customer_id"] == "C0001", "pred_churn_prob_365d"] = 0.38
    scores.loc[scores["customer_id"] == "C0002", "flags"] = "promo_abuse;weird_flag"
    data["scores"] = scores
    return data


@pytest.fixture(scope="module")
def built(inputs: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> ReportPaths:
    return _build(inputs, tmp_path_factory.mktemp("reports"))


def _pages(paths: ReportPaths) -> dict[str, Path]:
    """manager id ("" = unassigned) -> page."""
    out = dict(paths.managers)
    if paths.unassigned is not None:
        out[""] = paths.unassigned
    return out


def _owner(scores: pd.DataFrame) -> pd.Series:
    return scores.set_index("customer_id")["account_manager_id"].fillna("")


def test_pages_written_one_per_manager_plus_unassigned(built: ReportPaths, inputs: dict[str, Any]) -> None:
    assert built.index.name == "index.html" and built.index.exists()
    assert sorted(built.managers) == ["AM001", "AM002", "AM003"]
    assert {p.name for p in built.managers.values()} == {
        "manager-AM001.html",
        "manager-AM002.html",
        "manager-AM003.html",
    }
    assert built.unassigned is not None and built.unassigned.name == "manager-unassigned.html"
    assert (
        inputs["scores"]["account_manager_id"].isna()
    ).any()  # the fixture really has unassigned customers
    # Atomic writes leave no temp files behind; the marker lets the next run replace the directory whole.
    assert sorted(p.name for p in built.index.parent.iterdir()) == sorted(
        [
            ".cvp-report",
            "index.html",
            "manager-AM001.html",
            "manager-AM002.html",
            "manager-AM003.html",
            "manager-unassigned.html",
        ]
    )


def test_each_manager_page_shows_exactly_their_own_customers(
    built: ReportPaths, inputs: dict[str, Any]
) -> None:
    owner = _owner(inputs["scores"])
    for manager, path in _pages(built).items():
        page = _parse(path)
        own = set(owner.index[owner == manager])
        assert own, f"fixture gives {manager!r} no customers"
        assert page.tokens() == own, f"{path.name} shows other managers' customers or misses its own"
        assert sorted(page.rows) == sorted(own)


def test_customer_table_sorted_by_expected_value(built: ReportPaths, inputs: dict[str, Any]) -> None:
    scores = inputs["scores"]
    mine = scores[scores["account_manager_id"] == "AM001"]
    expected = mine.sort_values("pred_value_365d", ascending=False)["customer_id"].tolist()
    assert _parse(built.managers["AM001"]).rows == expected


def test_personal_columns_only_on_manager_pages(built: ReportPaths, inputs: dict[str, Any]) -> None:
    customers = inputs["customers"]
    index_html = built.index.read_text(encoding="utf-8")
    assert ID_TOKEN.search(index_html) is None, "the team page lists no customers"
    for col in ("name", "email", "phone"):
        leaked = [v for v in customers[col] if v in index_html]
        assert not leaked, f"{col} on the team page: {leaked[:3]}"
    owner = _owner(inputs["scores"])
    names = customers.set_index("customer_id")["name"]
    for manager, path in _pages(built).items():
        html = path.read_text(encoding="utf-8")
        own = owner.index[owner == manager]
        others = owner.index[owner != manager]
        assert all(names[c] in html for c in own), "managers see their customers' names"
        # Names end in the customer number, so "Ada Novak 1" is a prefix of "Ada Novak 12": match whole names.
        shown = set(re.findall(r'class="name">([^<]+)<', html))
        assert shown.isdisjoint(set(names[others])), f"{path.name} shows another manager's customer name"
    # Manager names are fine on the team page.
    assert inputs["account_managers"]["name"].iloc[0] in index_html


def test_churn_phrase_and_horizon_words() -> None:
    assert churn_phrase(0.38, "within a year") == "38% likely to stop buying within a year"
    assert churn_phrase(0.004, "within a year") == "Less than 1% likely to stop buying within a year"
    assert churn_phrase(0.9996, "within 90 days") == "More than 99% likely to stop buying within 90 days"
    assert churn_phrase(1.0, "within 90 days") == "100% likely to stop buying within 90 days"
    assert churn_phrase(float("nan"), "within a year") == "Risk of leaving unknown"
    assert horizon_phrases(365) == ("within a year", "next 12 months")
    assert horizon_phrases(730) == ("within 2 years", "next 2 years")
    assert horizon_phrases(90) == ("within 90 days", "next 90 days")
    assert horizon_days_from_columns(["customer_id", "pred_value_p10_90d", "pred_value_90d"]) == 90
    with pytest.raises(ValueError, match="exactly one"):
        horizon_days_from_columns(["pred_value_90d", "pred_value_365d"])


def test_churn_sentence_in_the_customer_row(built: ReportPaths, inputs: dict[str, Any]) -> None:
    owner = _owner(inputs["scores"])["C0001"]
    html = _pages(built)[owner].read_text(encoding="utf-8")
    row = re.search(r'<tr class="customer" data-customer-id="C0001">(.*?)</tr>', html, re.S)
    assert row is not None
    assert 'title="38% likely to stop buying within a year"' in row.group(1)
    text = " ".join(re.sub(r"<[^>]+>", " ", row.group(1)).split())
    assert "38% likely to stop buying within a year" in text


def test_manager_hover_text_in_plain_words(built: ReportPaths, inputs: dict[str, Any]) -> None:
    """Waterfall tooltips and reason hover text speak the registry's words ("typical customer"), never a column
    name (`_base`, `profit_margin_365d`): account managers are not technical."""
    columns = [str(c) for c in inputs["value_contrib"].columns]
    assert "_base" in columns
    html = "".join(p.read_text(encoding="utf-8") for p in _pages(built).values())
    hover = re.findall(r'title="([^"]*)"', html) + re.findall(r"<title>([^<]*)</title>", html)
    reasons = re.findall(r'<li title="([^"]*)"', html)
    assert reasons and any("typical customer" in h for h in hover)
    named = {h for h in hover for c in columns if re.search(rf"(?<![a-z_]){re.escape(c)}(?![a-z_0-9])", h)}
    assert not named


def test_team_page_hover_text_and_card_in_plain_words(built: ReportPaths, inputs: dict[str, Any]) -> None:
    """The team page is read by team leads: its hover text names no column (`profit_margin_365d`), the Pareto
    caption says its figures in words ("Columns: pred_value_365d" before), and the model card's metrics come in
    words with the raw name beside them for a data scientist ("Gini (ranking quality...)" + `value_norm_gini`)."""
    html = built.index.read_text(encoding="utf-8")
    columns = [str(c) for c in inputs["value_contrib"].columns] + [str(c) for c in inputs["scores"].columns]
    hover = re.findall(r'title="([^"]*)"', html)
    assert hover, "the separators table has hover text"
    named = {h for h in hover for c in columns if re.search(rf"(?<![a-z_]){re.escape(c)}(?![a-z_0-9])", h)}
    assert not named
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    assert "Columns:" not in text
    assert "expected profit, next 12 months pred_value_365d" in text
    assert "Gini (ranking quality" in text and "value_norm_gini" in text
    assert "AUC churn (who leaves" in text and "churn_roc_auc" in text
    assert re.search(
        r"Service effort <code[^>]*>service_effort</code>", html
    )  # the card's groups (was the raw name)


@pytest.mark.parametrize("n_reasons", [2, 5])
def test_every_reason_scoring_wrote_is_shown(n_reasons: int, tmp_path: Path) -> None:
    """`explain.n_reasons` decides how many reason columns scoring writes; the page shows each of them."""
    data = demo_report_inputs(12, 1, seed=6, n_reasons=n_reasons)
    scores = data["scores"].set_index("customer_id")
    assert f"value_reason_{n_reasons}" in scores and f"value_reason_{n_reasons + 1}" not in scores
    html = _build(data, tmp_path).managers["AM001"].read_text(encoding="utf-8")
    rows = dict(re.findall(r'<tr class="customer" data-customer-id="(C\d{4})">(.*?)</tr>', html, re.S))
    assert rows
    for cid, row in rows.items():
        for kind, head in (("value", "Value"), ("churn", "Risk of leaving")):
            block = re.search(rf'{head}</div><ul class="reasons">(.*?)</ul>', row, re.S)
            assert block is not None, f"{cid}: no {kind} reasons"
            shown = [unescape(x) for x in re.findall(r"<li[^>]*>(.*?)</li>", block.group(1))]
            wrote = [scores.loc[cid, f"{kind}_reason_{k}"] for k in range(1, n_reasons + 1)]
            # "before the cutoff" said "to date" (round 37, `phrases.to_date`)
            assert shown == [w.replace(" before the cutoff", " to date") for w in wrote], cid


def test_interval_named_by_the_quantiles_scoring_wrote(built: ReportPaths, tmp_path: Path) -> None:
    """`models.interval_quantiles` names the interval columns (0.05 -> `pred_value_p05_{h}d`); the page reads
    whichever two are there and labels them by their quantiles."""
    default = _parse(built.managers["AM001"]).text()
    assert "(P10-P90)" in default and "(8 times out of 10)" in default
    data = demo_report_inputs(12, 1, seed=6, interval_quantiles=(0.05, 0.95))
    scores = data["scores"].set_index("customer_id")
    assert "pred_value_p05_365d" in scores and "pred_value_p10_365d" not in scores
    html = _build(data, tmp_path).managers["AM001"].read_text(encoding="utf-8")
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    assert "(P5-P95)" in text and "(9 times out of 10)" in text
    assert "P10" not in text and "8 times out of 10" not in text
    rows = dict(re.findall(r'<tr class="customer" data-customer-id="(C\d{4})">(.*?)</tr>', html, re.S))
    assert rows
    for cid, row in rows.items():
        low, high = scores.loc[cid, ["pred_value_p05_365d", "pred_value_p95_365d"]]
        # the range in the currency, as the value above it (was "likely 0 to 1,682" under "1,386 EUR")
        assert f"likely {low:,.0f} to {high:,.0f} EUR" in " ".join(
            unescape(re.sub(r"<[^>]+>", " ", row)).split()
        )


@pytest.mark.parametrize(
    ("low", "high", "label"), [(0.1, 0.9, "P10-P90"), (0.05, 0.95, "P5-P95"), (0.25, 0.75, "P25-P75")]
)
def test_interval_columns_read_back_the_writers_names(low: float, high: float, label: str) -> None:
    """One naming rule: the reader parses what `models.bundle` writes for any configured quantiles."""
    names = [f"pred_value_{_quantile_name(q)}_90d" for q in (high, low)]
    interval = interval_columns(["customer_id", "pred_value_90d", *names], 90)
    assert (interval.low, interval.high) == (names[1], names[0])
    assert (interval.low_quantile, interval.high_quantile) == (low, high)
    assert interval.label == label
    with pytest.raises(ValueError, match="two interval columns"):
        interval_columns(["pred_value_90d", names[0]], 90)


def test_coverage_in_words() -> None:
    assert coverage_phrase(0.1, 0.9) == "8 times out of 10"
    assert coverage_phrase(0.05, 0.95) == "9 times out of 10"
    assert coverage_phrase(0.02, 0.98) == "96% of the time"


def test_horizon_is_read_from_the_columns(tmp_path: Path) -> None:
    data = demo_report_inputs(12, 2, seed=1, horizon_days=90)
    paths = _build(data, tmp_path)
    text = _parse(paths.managers["AM001"]).text()
    assert "likely to stop buying within 90 days" in text
    assert "within a year" not in text
    assert "next 90 days" in _parse(paths.index).text()


def test_every_tier_action_appears(built: ReportPaths, inputs: dict[str, Any]) -> None:
    config = REPORT
    index_text = _parse(built.index).text()
    for action in config.actions.values():
        assert action in index_text
    scores = inputs["scores"]
    for manager, path in _pages(built).items():
        text = _parse(path).text()
        tiers = set(scores.loc[scores["account_manager_id"].fillna("") == manager, "tier"])
        for tier in tiers:
            assert config.actions[tier] in text, f"{path.name} misses the {tier} action"


def test_flags_in_plain_words(built: ReportPaths, inputs: dict[str, Any]) -> None:
    owner = _owner(inputs["scores"])["C0002"]
    html = _pages(built)[owner].read_text(encoding="utf-8")
    row = re.search(r'data-customer-id="C0002">(.*?)</tr>', html, re.S)
    assert row is not None
    assert "Buys mostly on promotion or discount" in row.group(1)
    assert "Weird flag" in row.group(1)
    assert "promo_abuse" not in row.group(1)


def test_tier_counts_on_the_team_page(built: ReportPaths, inputs: dict[str, Any]) -> None:
    html = built.index.read_text(encoding="utf-8")
    counts = inputs["scores"]["tier"].value_counts()
    for tier in ("great", "good", "problem"):
        m = re.search(
            rf'<tr class="tier-row" data-tier="{tier}">.*?<td class="num">([\d,]+)</td>', html, re.S
        )
        assert m is not None and int(m.group(1).replace(",", "")) == counts[tier]


def test_model_card_on_the_team_page(built: ReportPaths) -> None:
    text = _parse(built.index).text()
    # challenger value_norm_gini over folds 0..2 is 0.57, 0.58, 0.59: mean 0.580, sample std 0.010.
    assert "0.580 ± 0.010" in text
    assert "9f2c" * 16 in text and "120,345" in text
    assert "customer-value" in text and "365 days" in text


def test_self_contained_no_external_references(built: ReportPaths) -> None:
    for path in [built.index, *_pages(built).values()]:
        html = path.read_text(encoding="utf-8")
        page = _parse(path)
        assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags), path.name
        for tag, attr, value in page.attrs:
            if attr in ("src", "href", "xlink:href", "action", "srcset"):
                assert value.startswith("#") or re.fullmatch(r"(index|manager-[\w.-]+)\.html", value), (
                    f"{path.name}: <{tag} {attr}={value!r}>"
                )
        assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//", html)
        assert "@import" not in html
        assert "<svg" in html


def test_text_is_escaped(tmp_path: Path) -> None:
    data = demo_report_inputs(6, 1, seed=2)
    customers = data["customers"].copy()
    customers.loc[0, "name"] = "<script>alert('x')</script> & Sons"
    paths = build_reports(
        data["scores"],
        data["value_contrib"],
        data["model_card"],
        tmp_path,
        REPORT,
        data["registry"],
        customers=customers,
        account_managers=data["account_managers"],
    )
    for path in _pages(paths).values():
        html = path.read_text(encoding="utf-8")
        assert "<script" not in html
    all_html = "".join(p.read_text(encoding="utf-8") for p in _pages(paths).values())
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Sons" in all_html


def test_output_is_deterministic_and_inputs_untouched(inputs: dict[str, Any], tmp_path: Path) -> None:
    before = inputs["scores"].copy()
    contrib_before = inputs["value_contrib"].copy()
    a = _build(inputs, tmp_path / "a")
    b = _build(inputs, tmp_path / "b")
    for pa, pb in [(a.index, b.index), *zip(_pages(a).values(), _pages(b).values(), strict=True)]:
        assert pa.read_bytes() == pb.read_bytes(), pa.name
    pd.testing.assert_frame_equal(inputs["scores"], before)
    pd.testing.assert_frame_equal(inputs["value_contrib"], contrib_before)


def test_unsafe_manager_ids_get_safe_distinct_file_names(tmp_path: Path) -> None:
    data = demo_report_inputs(8, 2, seed=4)
    scores = data["scores"].copy()
    scores["account_manager_id"] = np.where(np.arange(8) % 2 == 0, "../north", "unassigned")
    paths = build_reports(
        scores, data["value_contrib"], data["model_card"], tmp_path, REPORT, data["registry"]
    )
    names = {p.name for p in paths.managers.values()}
    assert len(names) == 2 and "manager-unassigned.html" not in names
    assert all(
        p.parent == tmp_path and "/" not in p.name.removeprefix("manager-") for p in paths.managers.values()
    )
    assert paths.unassigned is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.drop(columns=["tier"]), "missing columns"),
        (lambda s: pd.concat([s, s.iloc[:1]]), "one row per customer_id"),
        (lambda s: s.assign(pred_value_90d=1.0), "exactly one"),
        (lambda s: s.drop(columns=["pred_value_p90_365d"]), "two interval columns"),
    ],
)
def test_bad_scores_are_rejected(change: Any, message: str, inputs: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        build_reports(
            change(inputs["scores"]), inputs["value_contrib"], inputs["model_card"], tmp_path,
            REPORT, inputs["registry"],
        )  # fmt: skip


def test_currency_mismatch_is_rejected(inputs: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="currency"):
        _build(inputs, tmp_path, REPORT.model_copy(update={"currency": "USD"}))


def _config(**changes: Any) -> ReportConfig:
    return ReportConfig(**{**REPORT.model_dump(), **changes})


def test_report_settings_come_from_the_yaml_only() -> None:
    """No defaults in code: every field must be given, and `load_config().report` is the YAML's `report:`."""
    with pytest.raises(ValidationError) as err:
        ReportConfig()
    missing = {e["loc"][0] for e in err.value.errors() if e["type"] == "missing"}
    assert missing == set(ReportConfig.model_fields)
    section = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))["report"]
    assert section["currency"] is None  # the data's: `load_config` fills it with `data.currency` (round 24)
    assert REPORT.model_dump() == section | {"currency": "EUR"}


def _built_with(inputs: dict[str, Any], built: ReportPaths, out: Path, config: ReportConfig) -> ReportPaths:
    """The pages built with `config`: the module's `built` when it is the default configuration (built once)."""
    return built if config == REPORT else _build(inputs, out, config)


def test_high_churn_threshold_comes_from_the_config(
    inputs: dict[str, Any], built: ReportPaths, tmp_path: Path
) -> None:
    owner = _owner(inputs["scores"])["C0001"]  # churn probability 0.38
    for threshold, red in ((0.5, False), (0.38, True), (0.3, True)):
        paths = _built_with(inputs, built, tmp_path / str(threshold), _config(high_churn_prob=threshold))
        html = _pages(paths)[owner].read_text(encoding="utf-8")
        cell = re.search(r'data-customer-id="C0001">.*?<td class="(churn[^"]*)"', html, re.S)
        assert cell is not None and ("churn-high" in cell.group(1).split()) is red, threshold


def test_pareto_share_comes_from_the_config(
    inputs: dict[str, Any], built: ReportPaths, tmp_path: Path
) -> None:
    scores = inputs["scores"].set_index("customer_id")
    curve = pareto_curves(scores, "pred_value_365d", "service_effort_hours_365d", n_points=201)
    for share in (0.2, 0.1):
        paths = _built_with(inputs, built, tmp_path / str(share), _config(pareto_top_share=share))
        text = _parse(paths.index).text()
        profit = np.interp(share, curve["customer_share"], curve["value_share"])
        effort = np.interp(share, curve["customer_share"], curve["effort_share"])
        assert (
            f"The top {share:.0%} of customers (ranked by expected value) are expected to bring {profit:.0%} of "
            f"the profit over the next 12 months, and took {effort:.0%} of the service hours" in text
        ), share


def waterfall_steps(contrib: pd.Series, top: int) -> list[tuple[str, str, float]]:
    """The waterfall rows of one customer's contributions (features plus `_base`), as the pages draw them."""
    rows = WaterfallSource(contrib.to_frame().T, {}).rows(str(contrib.name), top)
    assert rows is not None
    return rows


def test_waterfall_hand_computed() -> None:
    contrib = pd.Series(
        {"profit_net_365d": 50.0, "service_tickets_90d": -30.0, "tenure_days": 5.0, "orders_count_90d": 0.0,
         "_base": 100.0},
        name="C0001",
    )  # fmt: skip
    rows = waterfall_steps(contrib, top=2)
    assert [(name, amount) for _, name, amount in rows] == [
        ("_base", 100.0),
        ("profit_net_365d", 50.0),
        ("service_tickets_90d", -30.0),
        ("other", 5.0),
        ("prediction", 125.0),
    ]
    assert rows[3][0] == "Everything else (2 factors)"
    chart = layout_waterfall(rows, "EUR")
    kinds = [s.kind for s in chart.steps]
    assert kinds == ["base", "up", "down", "up", "total"]
    # Each step starts where the previous one ended (the chart closes on the prediction bar).
    assert chart.steps[1].x0 == chart.steps[0].x1 and chart.steps[2].x1 == chart.steps[1].x1
    assert chart.steps[-1].value_text == "125 EUR"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=30),
    st.floats(-1e5, 1e5, allow_nan=False),
    st.integers(1, 10),
)
def test_waterfall_always_closes(values: list[float], base: float, top: int) -> None:
    contrib = pd.Series({f"f{i:02d}": v for i, v in enumerate(values)} | {"_base": base}, name="C1")
    rows = waterfall_steps(contrib, top)
    middle = [amount for _, _, amount in rows[1:-1]]
    assert rows[0][2] == base
    assert rows[-1][2] == pytest.approx(base + sum(values), abs=1e-6)
    assert sum(middle) == pytest.approx(sum(values), abs=1e-6)
    named = [r for r in rows[1:-1] if r[1] != "other"]
    assert len(named) <= top and all(amount != 0 for _, _, amount in named)
    chart = layout_waterfall(rows, "EUR")
    assert all(0 <= s.x0 <= s.x1 <= chart.width for s in chart.steps)


def test_a_company_without_account_managers_gets_one_unassigned_page(
    inputs: dict[str, Any], tmp_path: Path
) -> None:
    """Online Retail and other order-only files have no managers at all: no customer has an account manager and
    there is no managers table. The report is the team page plus the unassigned page, not a traceback (it was a
    `merge on float64 and str` error: the empty id list had no string dtype)."""
    data = dict(inputs)
    scores = inputs["scores"].copy()
    scores["account_manager_id"] = pd.Series(pd.NA, index=scores.index, dtype="str")
    data["scores"] = scores
    data["account_managers"] = None
    paths = _build(data, tmp_path / "reports")
    assert paths.managers == {}
    assert paths.unassigned is not None and paths.unassigned.exists()
    page = _parse(paths.unassigned).text()
    assert all(cid in page for cid in scores["customer_id"].head(5))
