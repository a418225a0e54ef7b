"""configs/default.yaml is the one place a default lives: no settings field has a default value in code."""

from __future__ import annotations

import typing

import pytest
from pydantic import BaseModel, ValidationError

import pipelines.config as config_module
from features.config import FeatureConfig
from pipelines.config import AppConfig, load_config
from pipelines.yamlfile import read_yaml

# Optional keys of one rule in a rule list: absent means "no scale column" / "every tier", not a default value
# of the product, and the YAML leaves them out of the rules that do not use them.
OPTIONAL_RULE_KEYS = {
    ("ThresholdRule", "scale_column"),
    ("FlagRule", "scale_column"),
    ("FlagRule", "only_tiers"),
}


def _models(model: type[BaseModel], seen: dict[str, type[BaseModel]]) -> dict[str, type[BaseModel]]:
    """Every settings class reachable from `model` through its field annotations (nested, in tuples, unions)."""

    def walk(annotation: object) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation.__name__ not in seen:
                seen[annotation.__name__] = annotation
                for field in annotation.model_fields.values():
                    walk(field.annotation)
        for arg in typing.get_args(annotation):
            walk(arg)

    walk(model)
    return seen


SETTINGS = _models(AppConfig, {})


def test_the_walk_reaches_every_section_and_rule():
    assert {
        "AppConfig",
        "FeatureConfig",
        "LabelConfig",
        "ModelConfig",
        "LightGBMParams",
        "TierConfig",
    } <= set(SETTINGS)
    assert {"GreatRule", "RatingConfig", "ThresholdRule", "FlagRule", "ExplainConfig", "DataConfig"} <= set(
        SETTINGS
    )
    assert {"DemoConfig", "ScoringConfig", "MlflowConfig", "ReportConfig"} <= set(SETTINGS)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_no_settings_field_has_a_code_default(name):
    with_default = [
        field
        for field, info in SETTINGS[name].model_fields.items()
        if not info.is_required() and (name, field) not in OPTIONAL_RULE_KEYS
    ]
    assert not with_default, (
        f"{name} fields with a default in code (put it in configs/default.yaml): {with_default}"
    )


def test_the_yaml_sets_every_field_of_every_section():
    data = read_yaml(config_module.DEFAULT_CONFIG, "config")
    sections = AppConfig.model_fields
    assert set(data) == set(sections)
    for section, info in sections.items():
        assert set(data[section]) == set(info.annotation.model_fields), section


def test_a_section_missing_a_key_is_an_error_not_a_default():
    with pytest.raises(ValidationError, match="windows_days"):
        FeatureConfig.model_validate(
            {k: v for k, v in load_config().features.model_dump().items() if k != "windows_days"}
        )


@pytest.mark.parametrize(
    "section, changes, message",
    [
        ("scoring", {"drift_reference_months": []}, "at least 1 item"),
        ("scoring", {"drift_reference_months": [0, 1, 1]}, "distinct whole months"),
        ("scoring", {"drift_reference_months": [0, -1]}, "distinct whole months"),
        ("models", {"interval_min_segment_customers": 0}, "greater than or equal to 1"),
    ],
)
def test_settings_moved_from_code_refuse_values_they_cannot_mean(section, changes, message):
    from tests.settings import override

    with pytest.raises(ValidationError, match=message):
        override(section, **changes)


def test_the_drift_reference_reads_its_months_from_the_settings(monkeypatch):
    """The drift reference's dates are `scoring.drift_reference_months` before the as-of (was a constant in code)."""
    import pandas as pd

    import pipelines.drift_reference as drift_reference
    from tests.settings import defaults, override

    days = []
    monkeypatch.setattr(
        drift_reference,
        "scored_rows",
        lambda tables, day, cfg, sample: days.append(day) or pd.DataFrame({"x": [1]}),
    )
    cfg = defaults().model_copy(update={"scoring": override("scoring", drift_reference_months=[0, 3])})
    rows, dates = drift_reference.recent_scored_rows({}, pd.Timestamp("2025-06-30"), cfg)
    assert dates == ["2025-06-30", "2025-03-30"] and len(rows) == 2
    _, dates = drift_reference.recent_scored_rows({}, pd.Timestamp("2025-06-30"), defaults())
    assert dates == [
        "2025-06-30",
        "2025-05-30",
        "2025-04-30",
    ]  # the default: as before, the as-of and two months
