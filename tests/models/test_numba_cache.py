"""The explainer's numba compile is cached in a per-user directory that survives between runs, and the warm-up
(`python -m models.treeshap --warm`, run by `make setup`) fills it for the calls a real model makes.

Each step runs a fresh interpreter: a cache is only worth something to the next process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.background import numba_warm_up, take

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

EXPLAIN_A_MODEL = """
import json
import lightgbm as lgb
import numpy as np
import pandas as pd
from models import treeshap

rng = np.random.default_rng(0)
x = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
x.loc[::7, "a"] = np.nan
x["c"] = pd.Categorical(rng.choice(["p", "q", "r"], 400))
y = x["b"].to_numpy() * 2 + (x["c"] == "q") + np.nan_to_num(x["a"].to_numpy())
model = lgb.LGBMRegressor(n_estimators=5, num_leaves=7, verbose=-1).fit(x, y)
treeshap.TreeShapExplainer(model).shap_values(x)
stats = {name: getattr(treeshap, name).stats for name in ("_build_tables", "_explain")}
print(json.dumps({
    "cache_dir": treeshap.NUMBA_CACHE_DIR,
    "misses": {name: sum(s.cache_misses.values()) for name, s in stats.items()},
    "hits": {name: sum(s.cache_hits.values()) for name, s in stats.items()},
}))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(extra)
    return env


def _python_pair(runs: list[tuple[list[str], dict[str, str]]]) -> list[str]:
    """Fresh interpreters side by side (each mostly waits on imports and cache reads): their stdouts, in order."""
    procs = [
        subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args, env in runs
    ]
    outs = [proc.communicate(timeout=600) for proc in procs]
    for proc, (_, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err[-3000:]
    return [out for out, _ in outs]


@pytest.fixture(scope="module")
def warmed() -> dict[str, object]:
    """`python -m models.treeshap --warm` in a fresh interpreter with an empty user cache (the one compile of this
    module, started in the background when the tests were collected), then, side by side, the two later runs the
    tests check: a model explained with that user cache, and one with a copy of it in a NUMBA_CACHE_DIR the user
    chose (its own $XDG_CACHE_HOME empty)."""
    import json
    import shutil

    warm = take("numba-warm", numba_warm_up)  # started when the tests were collected (tests/background.py)
    code, printed, err = warm.wait(timeout=600)
    assert code == 0, err[-3000:]
    root = warm.root
    xdg = root / "xdg"
    env = _env(XDG_CACHE_HOME=str(xdg))
    cache = xdg / "cvp" / "numba"
    chosen = root / "mine"
    shutil.copytree(cache, chosen)  # before any later run can add to the user cache
    chosen_env = _env(NUMBA_CACHE_DIR=str(chosen), XDG_CACHE_HOME=str(root / "xdg_empty"))
    later, in_chosen = _python_pair([(["-c", EXPLAIN_A_MODEL], env), (["-c", EXPLAIN_A_MODEL], chosen_env)])
    return {
        "cache": cache,
        "printed": printed,
        "later": json.loads(later.strip().splitlines()[-1]),
        "chosen": chosen,
        "chosen_xdg": root / "xdg_empty",
        "in_chosen": json.loads(in_chosen.strip().splitlines()[-1]),
    }


def test_warm_up_fills_the_user_cache_that_a_later_run_reads(warmed):
    cache, printed, after = warmed["cache"], warmed["printed"], warmed["later"]
    assert str(cache) in printed
    assert list(cache.rglob("*.nbi")), "the warm-up wrote no numba index into the user cache"
    assert list(cache.rglob("*.nbc")), "the warm-up wrote no compiled kernel into the user cache"

    assert after["cache_dir"] == str(cache)
    assert after["misses"] == {"_build_tables": 0, "_explain": 0}, "explaining a model compiled afresh"
    assert after["hits"]["_build_tables"] >= 1 and after["hits"]["_explain"] >= 1


def test_a_cache_dir_chosen_by_the_user_is_kept(warmed):
    """NUMBA_CACHE_DIR wins over the user cache: a copy of the warmed cache there is read (no compile), and nothing
    goes to $XDG_CACHE_HOME (whose cache is empty, so the hits can only come from the chosen directory)."""
    chosen, out = warmed["chosen"], warmed["in_chosen"]
    assert out["cache_dir"] == str(chosen)
    assert out["misses"] == {"_build_tables": 0, "_explain": 0}, "the chosen cache was not read"
    assert out["hits"]["_build_tables"] >= 1 and out["hits"]["_explain"] >= 1
    assert list(chosen.rglob("*.nbi"))
    assert not warmed["chosen_xdg"].exists()
