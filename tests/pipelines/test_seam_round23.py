"""Round 23 of the train/score seam: what still let a wrong result through with exit 0, or two paths that should
agree did not.

Each test failed on the code before its fix (the `was:` of each docstring).
"""

from __future__ import annotations

import pytest
import yaml

from tests.helpers import keep_mlflow_uris, quiet


def test_the_demo_never_replaces_a_champion_of_your_own_data(trained, tmp_path, monkeypatch):
    """`cvp demo` run where `mlruns/` holds the company's champion (v1, trained on its own data): the demo company's
    model was compared with it refitted on the demo's folds, tied, and became champion, exit 0; the nightly
    `cvp score` of the real customers then used the fictional company's model (was: measured, a 300-customer
    company's promoted v1 replaced by `cvp demo`'s v3). Now a demo's training logs `trained_by: cvp demo` and
    registers as challenger, saying why, over a champion no demo trained; over an earlier demo's it is compared as
    any training, and so into a registry without a champion."""
    from types import SimpleNamespace

    from pipelines.mlflow_import import mlflow
    from pipelines.tracking import configure_tracking
    from pipelines.tracking_runs import DEMO_PARAM, DEMO_TRAINER, demo_keeps_champion

    keep_mlflow_uris(monkeypatch)
    configure_tracking(trained.mlruns, reading=True)  # read only: the fixture's v1, trained by `cvp train`
    kept = demo_keeps_champion(mlflow.MlflowClient(), "customer-value", "1")
    assert "the champion (v1) was not trained by `cvp demo`" in kept and "cvp models promote" in kept
    assert demo_keeps_champion(mlflow.MlflowClient(), "customer-value", None) == ""
    demo_run = SimpleNamespace(data=SimpleNamespace(params={DEMO_PARAM: DEMO_TRAINER}))
    earlier_demo = SimpleNamespace(
        get_model_version=lambda name, version: SimpleNamespace(run_id="r"), get_run=lambda run_id: demo_run
    )
    assert demo_keeps_champion(earlier_demo, "customer-value", "1") == ""  # an earlier demo's model: compared

    # the demo's training is the one that says so (stopped before the fit: no model is trained here)
    import pipelines.train
    from pipelines.jobs import run_demo

    seen: dict = {}

    def stop(*args, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop before the fit")

    monkeypatch.setattr(pipelines.train, "train_and_register", stop)
    config = tmp_path / "demo.yaml"
    config.write_text(
        yaml.safe_dump({"demo": {"customers": 100}, "mlflow": {"tracking_dir": str(tmp_path / "m")}})
    )
    with pytest.raises(RuntimeError, match="stop before the fit"):
        run_demo(tmp_path / "demo", config, quiet())
    assert seen.get("demo") is True


def test_a_run_whose_history_got_another_run_while_it_scored_is_not_added(december_history, tmp_path):
    """Two `cvp score --history H` at once (a backfill loop run in parallel): the January run read H before the
    December run was appended, so its stable tiers were held over no earlier run; it was appended all the same,
    exit 0, and every later `cvp report --history H` of its scores stopped ("held by the stability rule over other
    runs than this history holds"), the scores `cvp score --history` had written into H (was). Now the append
    checks, under the history's lock, that the runs before it are the ones its tiers read, and stops (exit 2)
    saying another run was added meanwhile; a run that read them is added, and so is a backfill."""
    import json

    import pandas as pd

    from features.validation import StructuralError
    from pipelines.history_store import append_run, list_runs
    from tests.pipelines.conftest import history_after_december

    history = history_after_december(december_history, tmp_path)
    dec = json.loads((december_history / "dec.manifest.json").read_text())
    scores = pd.read_parquet(december_history / "dec.parquet")
    contributions = december_history / "dec.contributions.parquet"
    january = dec | {"as_of": "2025-01-01", "run_id": "jan", "stability_runs": {}}  # read H while empty
    with pytest.raises(
        StructuralError, match=r"another run was added to it while this one scored \(2024-12-01\)"
    ):
        append_run(history, scores, contributions, january)
    assert [r.as_of for r in list_runs(history)] == ["2024-12-01"]
    january["stability_runs"] = {"2024-12-01": dec["run_id"]}  # read the December run: added
    append_run(history, scores, contributions, january)
    backfill = dec | {"as_of": "2024-11-01", "run_id": "nov", "stability_runs": {}}  # before every run: added
    append_run(history, scores, contributions, backfill)
    assert [r.as_of for r in list_runs(history)] == ["2024-11-01", "2024-12-01", "2025-01-01"]


def test_a_run_appended_before_a_later_run_added_while_it_scored_says_so(december_history, tmp_path):
    """Two `cvp score --history H` at once, the later as-of appended first: the November run read H without the
    December run, was appended after it, exit 0 and silent; December's `cvp report --history H` then refused its
    scores (its stable tiers computed without November) (was). The manifest now records the later runs the
    scoring saw (`history_later`), and the append says December must be scored again, oldest first (November's
    own tiers read only earlier runs: it is added)."""
    import json

    from pipelines.history import unseen_later_runs
    from tests.pipelines.conftest import history_after_december

    history = history_after_december(december_history, tmp_path)
    dec = json.loads((december_history / "dec.manifest.json").read_text())
    november = dec | {"as_of": "2024-11-01", "run_id": "nov", "stability_runs": {}, "history_later": {}}
    (note,) = unseen_later_runs(history, november)
    assert "later runs (2024-12-01)" in note and "score them again, oldest first" in note
    november["history_later"] = {"2024-12-01": dec["run_id"]}  # saw December: its scoring said so already
    assert unseen_later_runs(history, november) == []
