"""A model registered before a label setting existed still scores: its unpickled label settings get the
behaviour it was trained with (`features.config.LABEL_SETTINGS_BEFORE`)."""

from __future__ import annotations

import pickle

import pytest

from features.config import LABEL_SETTINGS_BEFORE, LabelConfig
from models.bundle import CustomerValueModel
from pipelines.config import load_config


def _pickled_before(labels: LabelConfig, field: str) -> LabelConfig:
    """`labels` as a model pickled before `field` existed holds it: the field absent from its state."""
    state = labels.__getstate__()
    state["__dict__"] = {k: v for k, v in state["__dict__"].items() if k != field}
    old = LabelConfig.__new__(LabelConfig)
    old.__setstate__(state)
    return old


@pytest.mark.parametrize("field", sorted(LABEL_SETTINGS_BEFORE))
def test_a_model_pickled_before_a_label_setting_scores_with_the_behaviour_it_was_trained_with(field):
    cfg = load_config()
    bundle = CustomerValueModel(90, cfg.models, cfg.features, _pickled_before(cfg.labels, field))
    loaded = pickle.loads(pickle.dumps(bundle))
    assert getattr(loaded.label_config, field) == LABEL_SETTINGS_BEFORE[field]
    # what scoring does with the model's settings (was: StructuralError "labels.<field>: Field required")
    effective = cfg.with_model_settings(loaded.feature_config, loaded.label_config)
    assert getattr(effective.labels, field) == LABEL_SETTINGS_BEFORE[field]
    assert loaded.contract_settings()["labels"][field] == LABEL_SETTINGS_BEFORE[field]
