"""The fuzz harness (`bench/fuzz_inputs.py`) on a fixed list of cases: every damage on a CSV and a Parquet demo
company of 300 customers and on Online Retail's first 3,000 lines through its mapping. Each case keeps the
contract (a known stop naming a table or file, or rows in = accepted + rejected with a reason for every reject),
never another exception nor a hang. Long runs: `python bench/fuzz_inputs.py --help`."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from tests.shared_data import online_retail_dir

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_fuzz_inputs", ROOT / "bench" / "fuzz_inputs.py")
fuzz = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fuzz  # its dataclass looks its module up
_spec.loader.exec_module(fuzz)

#: Per damage, the seeds of its cases (a seed draws the data set and every random choice of the damage).
SEEDS = (3,)


@pytest.fixture(scope="module")
def demo_sets(tmp_path_factory) -> list[fuzz.DataSet]:
    return fuzz.demo_sets(tmp_path_factory.mktemp("fuzz-good"), 300, 7)


def _cases(sets: list[fuzz.DataSet], work: Path, names: list[str]) -> list[dict]:
    out = []
    for name in names:
        for seed in SEEDS:
            for ds in sets:
                if (
                    name.startswith("bytes.")
                    and ds.fmt != "csv"
                    or name == "parquet.type"
                    and ds.fmt != "parquet"
                ):
                    continue
                out.append(fuzz.run_case(seed, [ds], work, timeout=60, damages=[name]))
                fuzz._cleanup(work / f"case-{seed}")
    return out


def test_every_damage_to_the_demo_company_keeps_the_contract(demo_sets, tmp_path):
    names = [n for n in sorted(fuzz.DAMAGES) if n not in ("cell2", "cell3")]  # `cell` again, other draws
    records = _cases(demo_sets, tmp_path, names)
    findings = [r for r in records if fuzz.finding_class(r)]
    assert not findings, findings
    outcomes = {r["outcome"] for r in records}
    assert outcomes == {"ok", "stop"}  # the damages both pass and stop: the harness damages something
    # round 18's and 20's classes stay covered, each stopped by its own message (lines above a header, a partitioned
    # table; a file in UTF-16, a web page)
    for name, said in (
        ("bytes.preamble", "its header is line"),
        ("table.partitioned", "is a directory"),
        ("bytes.wide", " is UTF-"),  # round 20
        ("bytes.web_page", "(its first bytes), not UTF-8 CSV text"),  # round 20
    ):
        stops = [r.get("stop", "") for r in records if r["damages"][0].startswith(f"{name}:")]
        assert stops and all(said in stop for stop in stops), (name, stops)


def test_damage_to_online_retail_through_its_mapping_keeps_the_contract(tmp_path):
    import shutil

    retail = online_retail_dir() / "online_retail.parquet"
    sets = fuzz.retail_sets(tmp_path / "good", 3000)
    assert sets and retail.exists()
    names = ["bytes.truncate", "bytes.open_quote", "bytes.nul_mid", "cell", "cell2", "column.drop", "column.swap",
             "rows", "table", "parquet.type"]  # fmt: skip
    records = _cases(sets, tmp_path / "work", names)
    findings = [r for r in records if fuzz.finding_class(r)]
    assert not findings, findings
    shutil.rmtree(tmp_path / "good")


def test_the_harness_reports_a_traceback_a_hang_and_a_broken_count(demo_sets, tmp_path, monkeypatch):
    """What it checks can fail: an unexpected exception is a finding with its type and place, a case past its
    time limit a hang, and a load whose counts do not add up a broken promise."""
    import time

    import pipelines.io
    import pipelines.loading

    def raises(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(pipelines.loading, "load_configured", raises)
    record = fuzz.run_case(1, demo_sets, tmp_path, timeout=60, damages=[])
    assert fuzz.finding_class(record) == "exception ValueError at ?"
    monkeypatch.setattr(pipelines.loading, "load_configured", lambda *a, **k: time.sleep(5))
    assert fuzz.run_case(1, demo_sets, tmp_path, timeout=0.2, damages=[])["outcome"] == "hang"
    monkeypatch.undo()
    loaded = pipelines.io.load_data(demo_sets[0].root)
    loaded.result.report["orders"].accepted -= 1
    assert fuzz.check_outcome(loaded) == [
        f"orders: rows in {loaded.result.report['orders'].rows_in} != "
        f"{loaded.result.report['orders'].accepted} accepted + 0 rejected",
        f"orders: {len(loaded.tables['orders'])} rows kept, {loaded.result.report['orders'].accepted} accepted",
    ]


def test_the_harness_runs_as_a_script_its_folder_first_on_the_path():
    """`python bench/fuzz_inputs.py ...` (as docs/tests.md names it) puts bench/ first on sys.path, where
    bench/features.py would hide the `features` package: the harness orders the path itself (was: every case
    `ModuleNotFoundError: No module named 'features.contract'; 'features' is not a package`)."""
    import subprocess

    code = (
        "import runpy, sys; sys.path.insert(0, 'bench'); runpy.run_path('bench/fuzz_inputs.py', run_name='fuzz'); "
        "import features.contract, pipelines.demo.assemble"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
