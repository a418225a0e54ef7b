"""Scoring output pinned: the speed work (issue 14) must not change a single score, tier, rating or reason.

The golden files were computed by the code BEFORE the issue-14 changes (main at 76fd3f2), on the shared `trained`
fixture (800 generated customers, seed 11, the fast test models), scored as of 2025-01-01 with the pandas engine:

- `tests/data/golden_scores.csv`: the whole scores file (every customer, every column but `run_id`, which hashes
  the temporary tracking path), written by `_as_csv` (floats at full precision);
- `tests/data/golden_scores.json`: the validated tables' fingerprint (content and dtypes of every column), the
  rows in/accepted/rejected per table, the counts of the manifest and the fingerprint of the contributions file.

A change that is MEANT to change the outputs (new features, a retrained model, new reason wording) regenerates
them, and says so in its commit:

    .venv/bin/python -m tests.pipelines.test_golden_scores --write

(it builds the same fixture in a temporary directory and overwrites both files; review the diff of the CSV).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from tests.pipelines.score_helpers import score_trained

GOLDEN = Path(__file__).resolve().parents[1] / "data"
SCORES_CSV = GOLDEN / "golden_scores.csv"
SUMMARY_JSON = GOLDEN / "golden_scores.json"


def _as_csv(scores: pd.DataFrame) -> str:
    """The scores as CSV text, floats written with all 17 significant digits (a change in the last bit shows)."""
    frame = scores.drop(columns=["run_id"])
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, float_format="%.17g", lineterminator="\n")
    return buffer.getvalue()


def _summary(run: Any) -> dict[str, Any]:
    from pipelines.fingerprint import frame_fingerprint

    contrib = pd.read_parquet(run.contributions_path).drop(columns=["run_id"])
    m = run.manifest
    return {
        "data_fingerprint": m["data_fingerprint"],
        "rows": m["rows"],
        "customers_scored": m["customers_scored"],
        "customers_total": m["customers_total"],
        "statuses": m["statuses"],
        "tiers": m["tiers"],
        "contributions": frame_fingerprint(contrib),
        "contribution_columns": list(contrib.columns),
    }


def _run(trained: Any, tmp: Path) -> Any:
    return score_trained(trained, tmp / "scores.parquet")


#: Floats may differ in their last bits between CPUs (numpy's and libm's vectorised exp/log take other paths on
#: other instruction sets: the calibrated churn probability moved by 5e-17 from one machine to another); a change of
#: the code moves them by far more. Text columns (tiers, ratings, reasons, ids) must match exactly.
FLOAT_RTOL = 1e-12


def _differences(got_text: str, expected_text: str) -> dict[str, tuple[str, str]]:
    """Columns that differ, with the first (golden, now) pair; floats within FLOAT_RTOL count as equal."""
    import numpy as np

    got = pd.read_csv(io.StringIO(got_text), dtype=str, keep_default_na=False)
    want = pd.read_csv(io.StringIO(expected_text), dtype=str, keep_default_na=False)
    assert list(got.columns) == list(want.columns), "the scores' columns changed"
    assert len(got) == len(want), f"{len(got)} rows scored, the golden file has {len(want)}"
    found = {}
    for column in got.columns:
        differ = got[column].ne(want[column]).to_numpy()
        if differ.any():
            a = pd.to_numeric(got[column][differ], errors="coerce").to_numpy(dtype=float)
            b = pd.to_numeric(want[column][differ], errors="coerce").to_numpy(dtype=float)
            close = np.isclose(a, b, rtol=FLOAT_RTOL, atol=0.0)  # text that is not a number is never close
            if not close.all():
                at = np.flatnonzero(differ)[np.flatnonzero(~close)[0]]
                found[column] = (want[column].iloc[at], got[column].iloc[at])
    return found


def test_scores_tiers_ratings_and_reasons_match_the_golden_files(default_scores):
    run = default_scores.run  # `_run` on the `trained` fixture, shared with the other tests that read it
    expected_text = SCORES_CSV.read_text(encoding="utf-8")
    got_text = _as_csv(run.scores)
    if got_text != expected_text:  # say where, not just that they differ
        found = _differences(got_text, expected_text)
        assert not found, f"scores differ from the golden file in {list(found)}; first (golden, now): {found}"
    assert json.loads(SUMMARY_JSON.read_text(encoding="utf-8")) == _summary(run)


def test_the_golden_comparison_tolerates_last_bits_only():
    header = "customer_id,pred_churn_prob_365d,tier\n"
    golden = header + "C1,0.15039328108228706,great\n"
    assert _differences(header + "C1,0.15039328108228711,great\n", golden) == {}
    assert _differences(header + "C1,0.150393281,great\n", golden) == {
        "pred_churn_prob_365d": ("0.15039328108228706", "0.150393281")
    }
    assert list(_differences(header + "C1,0.15039328108228706,good\n", golden)) == ["tier"]


def _write() -> None:  # pragma: no cover - regeneration, run by hand
    import tempfile

    from tests.pipelines.conftest import build_trained  # the `trained` fixture's company and model

    with tempfile.TemporaryDirectory() as tmp:
        env = build_trained(Path(tmp))
        run = _run(env, Path(tmp))
        SCORES_CSV.write_text(_as_csv(run.scores), encoding="utf-8")
        SUMMARY_JSON.write_text(json.dumps(_summary(run), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {SCORES_CSV} and {SUMMARY_JSON}")


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m tests.pipelines.test_golden_scores --write")
    _write()
