"""`bench/score.py --profile` wraps named product functions: each must still exist where the bench looks it up.

A rename in the product (the seam's `pipelines.engines.run.last_order` became `pipelines.data_age.check_data_age`)
made `--profile` fail with an AttributeError after a 250k run's set-up, with nothing in the test suite to say so."""

import importlib
import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "score_profile.py"  # `--profile`'s instruments


def _profile_stages():
    spec = importlib.util.spec_from_file_location("bench_score_stages", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCH.parent))  # the bench scripts import each other from their own directory
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH.parent))
    return module.PROFILE_STAGES


def test_every_profile_stage_names_a_function_the_product_still_has():
    missing = []
    for target, attr, stage in _profile_stages():
        module_name, _, cls = target.partition(":")
        owner = importlib.import_module(module_name)
        if cls:
            owner = getattr(owner, cls, None)
        if owner is None or not callable(getattr(owner, attr, None)):
            missing.append(f"{target}.{attr} ({stage})")
    assert not missing, (
        f"bench/score_profile.py PROFILE_STAGES names what the product no longer has: {missing}"
    )
