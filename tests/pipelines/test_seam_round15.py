"""Round 15 of the train/score seam: what still let a wrong result through with exit 0, or two paths that should
agree did not.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations


def test_a_models_run_uri_is_read_by_one_rule():
    """`cvp score --model runs:/<id>/<path>` and the score history read the training run out of a run's URI: two
    copies of the rule (was: `pipelines.tracking` took any artefact path, `history_store.run_of_uri` only
    `/model`, so a history run recorded as `runs:/<id>/sub` was judged another model than the one it loaded)."""
    from pipelines import history_store, tracking

    assert history_store.run_of_uri is tracking.run_of_uri  # was: AttributeError, a second copy
    read = tracking.run_of_uri
    assert read("runs:/0a1b/model") == read("runs:/0a1b/model/") == read("runs:/0a1b/sub/dir") == "0a1b"
    assert read("1") is None and read("models:/customer-value/1") is None and read("runs:/") is None
