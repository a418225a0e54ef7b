"""The scores file stores each customer's reasons compactly (issue 14), and every reader gets today's sentences.

The golden test (`test_golden_scores.py`) pins the sentences `ScoreRun.scores` gives; these tests pin what is on
disk (feature, value, category, effect, together per reason; no sentence) and that the set read back
(`read_output_set`: reports, `cvp profile`) words them as the run did.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from models.reason_text import render_reasons, stored_reason_columns, with_reason_sentences
from pipelines.outputs import read_output_set


def test_the_scores_file_stores_reasons_as_features_values_and_effects(default_scores):
    schema = pq.read_schema(default_scores.out)
    n = 3  # explain.n_reasons of the fixture's config
    for kind in ("value", "churn"):
        stored = stored_reason_columns(kind, n)
        assert [c for c in schema.names if c.startswith(f"{kind}_reason_")] == stored
        for name in stored:
            part = name.split("_reason_")[1].rsplit("_", 1)[0]
            kind_of = schema.field(name).type
            text = pa.types.is_string(kind_of) or pa.types.is_large_string(kind_of)
            assert text if part in ("feature", "category") else kind_of == pa.float64(), name
    assert not any(c in schema.names for c in ("value_reason_1", "churn_reason_1"))  # no sentence on disk

    raw = pd.read_parquet(default_scores.out)
    scored = raw["status"] == "scored"
    has = raw["value_reason_feature_1"].notna()
    assert has[scored].all() and not has[~scored].any()
    # the effects rank the reasons: |effect_1| >= |effect_2| where both exist
    both = raw["value_reason_effect_2"].notna()
    assert (
        raw.loc[both, "value_reason_effect_1"].abs() >= raw.loc[both, "value_reason_effect_2"].abs()
    ).all()


def test_every_reader_gets_the_sentences_the_run_gives(default_scores):
    run = default_scores.run
    currency = run.manifest["reasons"]["currency"]
    want = run.scores  # the golden test's frame
    back = read_output_set(default_scores.out).scores  # what `cvp report` and `cvp profile` read
    sentences = [c for c in want.columns if c.startswith(("value_reason_", "churn_reason_"))]
    assert sentences[:6] == [f"value_reason_{k}" for k in (1, 2, 3)] + [
        f"value_reason_feature_{k}" for k in (1, 2, 3)
    ]
    assert list(back.columns) == list(want.columns)
    pd.testing.assert_frame_equal(back[sentences], want[sentences])
    assert want.loc[want["status"] == "scored", "value_reason_1"].str.contains(currency).all()
    # rendered from the stored columns alone, any slice gives the same words as the whole base
    raw = pd.read_parquet(default_scores.out)
    part = raw.iloc[::7]
    words = render_reasons(part, "churn", currency)
    pd.testing.assert_frame_equal(words, want.loc[part.index, words.columns])
    assert with_reason_sentences(want, currency) is want  # sentences already: nothing to word
