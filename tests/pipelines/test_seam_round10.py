"""Round 10 of the train/score seam: what still let a wrong result through with exit 0, or confused one of the
three users (data scientist, unattended batch job, account manager).

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import yaml

from tests.pipelines.conftest import clone_registry
from tests.pipelines.score_helpers import score_trained


def test_every_setting_is_declared_as_read_by_the_outputs_or_not():
    """A section or field added to the configuration must be placed: either the run id covers it (an output reads
    it) or it is listed with why not (was: the id digested the whole configuration, so nothing was placed)."""
    from pipelines.config import load_config
    from pipelines.run_identity import OTHER_SETTINGS, OUTPUT_SETTINGS

    dumped = load_config().model_dump(mode="json")
    declared = list(OUTPUT_SETTINGS) + list(OTHER_SETTINGS)
    assert len(declared) == len(set(declared)), "a setting declared twice"
    for section, fields in dumped.items():
        if section in declared:
            assert not any(d.startswith(f"{section}.") for d in declared), section
            continue
        names = {f"{section}.{f}" for f in fields}
        assert names == {d for d in declared if d.startswith(f"{section}.")}, section
    assert {d.partition(".")[0] for d in declared} <= set(dumped)


def test_the_run_id_changes_with_a_setting_an_output_reads_and_only_with_one(
    trained, default_scores, tmp_path
):
    """A batch job compares run ids to tell whether anything changed. A report's wording, MLflow's experiment and
    registry location, the demo company, a training-only setting and the chunk size change no output: same id
    (was: a new id for each, the config's whole digest, so "changed" for nothing). A tier rule changes the tiers:
    a new id."""
    first = default_scores.run.manifest
    cfg = yaml.safe_load(
        clone_registry(trained, tmp_path / "elsewhere").read_text()
    )  # the same model, copied
    cfg["report"] = {"actions": {"great": "Call them this week."}, "pareto_top_share": 0.3}
    cfg["mlflow"] |= {"experiment": "another-experiment"}
    cfg["demo"] = {"seed": 99}
    cfg["models"] = cfg.get("models", {}) | {"promotion_tolerance": 0.2}
    cfg["scoring"] = cfg.get("scoring", {}) | {"chunk_customers": 97}
    quiet_change = tmp_path / "quiet.yaml"
    quiet_change.write_text(yaml.safe_dump(cfg))
    same = score_trained(trained, tmp_path / "same.parquet", config=quiet_change)
    assert same.manifest["config_digest"] != first["config_digest"]  # the configuration did change
    assert same.manifest["run_id"] == first["run_id"]
    assert same.scores.drop(columns="run_id").equals(default_scores.run.scores.drop(columns="run_id"))

    tiers = yaml.safe_load(trained.config.read_text())
    tiers["tiers"] = {"great": {"top_share": 0.5}}
    changed = tmp_path / "tiers.yaml"
    changed.write_text(yaml.safe_dump(tiers))
    other = score_trained(trained, tmp_path / "other.parquet", config=changed)
    assert other.manifest["run_id"] != first["run_id"]
    assert other.manifest["tiers"] != first["tiers"]
