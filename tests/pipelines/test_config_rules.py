"""Rule lists in --config: plain list replaces, {extend: [...]} extends; rules on impossible columns and
non-colours are config errors at load time."""

from __future__ import annotations

import pytest

from features.validation import StructuralError
from pipelines.config import load_config
from tests.helpers import config_file as _cfg

DEFAULT_PROBLEM = [
    "non_positive_value",
    "cost_to_serve_share",
    "return_abuse",
    "discount_abuse",
    "dispute_share",
]


RULE = "{name: big_effort, column: service_effort_hours_365d, op: '>', threshold: 40}"


def test_extend_appends_to_the_default_rules(tmp_path):
    cfg = load_config(_cfg(tmp_path, f"tiers: {{problem_rules: {{extend: [{RULE}]}}}}"))
    assert [r.name for r in cfg.tiers.problem_rules] == DEFAULT_PROBLEM + ["big_effort"]


def test_extend_with_a_default_name_replaces_that_rule_in_place(tmp_path):
    text = "tiers: {problem_rules: {extend: [{name: return_abuse, column: price_return_rate_value_365d, op: '>', threshold: 0.9}]}}"
    cfg = load_config(_cfg(tmp_path, text))
    assert [r.name for r in cfg.tiers.problem_rules] == DEFAULT_PROBLEM
    assert cfg.tiers.problem_rules[2].threshold == 0.9


@pytest.mark.parametrize("text", [f"[{RULE}]", f"{{replace: [{RULE}]}}"])
def test_plain_list_or_replace_replaces_the_defaults(tmp_path, text):
    cfg = load_config(_cfg(tmp_path, f"tiers: {{flag_rules: {text}}}"))
    assert [r.name for r in cfg.tiers.flag_rules] == ["big_effort"]


def test_unknown_list_mode_is_refused(tmp_path):
    with pytest.raises(StructuralError, match="tiers.problem_rules.*extend"):
        load_config(_cfg(tmp_path, f"tiers: {{problem_rules: {{append: [{RULE}]}}}}"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "tiers: {problem_rules: {extend: [{name: x, column: profit_cost_to_serv_365d, op: '>', threshold: 1}]}}",
            "did you mean 'profit_cost_to_serve_365d'",
        ),
        (  # a fixed window name the configured windows do not produce (placeholders would follow them)
            "features: {windows_days: [90]}\n"
            "tiers: {problem_rules: {extend: [{name: x, column: profit_net_365d, op: '<', threshold: 0}]}}",
            "tiers.problem_rules.x",
        ),
        (
            "tiers: {flag_rules: [{name: x, column: 'pred_churn_prob_{h}d', op: '>', threshold: 0.3}]}\nlabels: {horizon_days: 180}",
            None,
        ),
    ],
)
def test_rule_columns_must_exist(tmp_path, text, message):
    if message is None:  # a prediction column of the configured horizon is fine
        assert load_config(_cfg(tmp_path, text)).labels.horizon_days == 180
        return
    with pytest.raises(StructuralError, match=message):
        load_config(_cfg(tmp_path, text))


@pytest.mark.parametrize("colour", ["red; background: url(x)", "#12345", "javascript:1", "</style>"])
def test_report_colours_must_be_css_colours(tmp_path, colour):
    with pytest.raises(StructuralError, match="tier_colors.great"):
        load_config(_cfg(tmp_path, f"report: {{tier_colors: {{great: {colour!r}}}}}"))


@pytest.mark.parametrize("colour", ["#abc", "#A1B2C3", "RebeccaPurple"])
def test_valid_colours_pass(tmp_path, colour):
    assert (
        load_config(_cfg(tmp_path, f"report: {{tier_colors: {{great: {colour!r}}}}}")).report.tier_colors[
            "great"
        ]
        == colour
    )
