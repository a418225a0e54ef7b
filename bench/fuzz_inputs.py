"""Fuzz the input contract: seeded random damage to good data, then the contract's promise checked on each case.

Two good data sets: the demo company (`cvp generate`, small: `--customers`, generated once per run) as CSV and as
Parquet, and the UCI Online Retail lines (a sample of `--retail-lines`, `../shared/datasets/online_retail`) with
their mapping (`configs/datasets/online_retail.yaml`). Each case takes one of them, applies one to three damages
drawn from its seed (bytes: a cut mid-row, bytes inserted, deleted or swapped, a BOM or NUL in the middle, CR-only
or mixed line endings, a quote never closed, lines above the header, the file in UTF-16 or a web page in its place; cells: a hostile value from `CORPUS`; columns:
dropped, duplicated, renamed, reordered, two swapped; rows: duplicated, shuffled, blank lines, a repeated header, a
trailing `Total` row, one instant stamped on many rows of a date column; tables: an empty file, a header only, a
table missing, a table given twice in two forms, a table file moved into a partitioned directory; Parquet: a
column's type changed, a column all null) and runs `pipelines.io.load_data` on it (with the default config's `data:`
settings: `pipelines.loading.load_configured`), in this process, under a time limit.

The contract (`check_outcome`): either a known stop (`features.errors.StructuralError`, whose message names a table
or a file) or success where every table's rows in = accepted + rejected, the accepted table holds `accepted` rows
and every reject has a reason; never another exception, never a hang. With `--score-every N`, every N-th case also
runs `cvp score` in a subprocess with a small demo model trained once: exit 0 or 2, never 1 (a traceback).

    .venv/bin/python bench/fuzz_inputs.py --seeds 0:200 --budget 3600 --out out/fuzz  # or -m bench.fuzz_inputs
    nice -n 10 .venv/bin/python -m bench.fuzz_inputs --seeds 1000:100000 --budget 3600 --score-every 50

Findings are written to `<out>/findings.jsonl` (seed, damages, the exception's type, place and first line), one
class per (type, place) in the summary printed at the end; `--keep` keeps each finding's case directory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

# Run as `python bench/fuzz_inputs.py`, the script's folder is sys.path[0] and bench/features.py would hide the
# `features` package: the repository first, bench/ last (for bench/fuzz_cases.py), as `python -m bench.fuzz_inputs`.
_HERE, _REPO = Path(__file__).resolve().parent, Path(__file__).resolve().parents[1]
sys.path[:] = [
    str(_REPO),
    *(p for p in sys.path if Path(p or ".").resolve() not in (_HERE, _REPO)),
    str(_HERE),
]

from fuzz_cases import DAMAGES, REPO, DataSet, demo_sets, retail_sets  # noqa: E402 - bench/fuzz_cases.py

# --- one case ------------------------------------------------------------------------------------------------------


class Hang(Exception):
    """A case ran past its time limit."""


def _alarm(signum: int, frame: Any) -> None:
    raise Hang()


def check_outcome(loaded: Any) -> list[str]:
    """What a successful load broke of the contract (empty: nothing)."""
    broken = []
    for t, rep in loaded.result.report.items():
        if rep.rows_in != rep.accepted + rep.rejected:
            broken.append(f"{t}: rows in {rep.rows_in} != {rep.accepted} accepted + {rep.rejected} rejected")
        kept = loaded.tables.get(t)
        if kept is not None and len(kept) != rep.accepted:
            broken.append(f"{t}: {len(kept)} rows kept, {rep.accepted} accepted")
        rej = loaded.result.rejects.get(t)
        if rep.rejected and (rej is None or len(rej) != rep.rejected):
            broken.append(f"{t}: {rep.rejected} rejected, {0 if rej is None else len(rej)} reject rows")
        if rej is not None and len(rej) and ("reason" not in rej or rej["reason"].isna().any()):
            broken.append(f"{t}: a reject without a reason")
    return broken


def check_rejects_files(loaded: Any, rejects: Path) -> list[str]:
    """The rejects as `cvp validate --rejects` publishes them (`pipelines.loading.publish_rejects`), read back: each
    table's file holds its rejected rows, each with a reason (a hostile cell, a line break or NUL, must not cut or
    merge the rows of the CSV written)."""
    import pyarrow.csv as pv

    from pipelines.loading import publish_rejects

    broken = []
    try:
        written = publish_rejects(loaded, rejects)
        for key, path in written.items():
            table = pv.read_csv(  # a line break inside a quoted cell is one cell (RFC 4180)
                path,
                parse_options=pv.ParseOptions(newlines_in_values=True),
                convert_options=pv.ConvertOptions(column_types={"reason": "string"}),
            )
            want = loaded.result.rejects.get(key)
            if want is None:
                want = loaded.source_rejects.get(key.removeprefix("source:"))
            if want is not None and table.num_rows != len(want):
                broken.append(
                    f"rejects file {path.name}: {table.num_rows} rows read back, {len(want)} rejected"
                )
            if table.column("reason").null_count:
                broken.append(f"rejects file {path.name}: a row without a reason")
    finally:
        shutil.rmtree(rejects, ignore_errors=True)
    return broken


def _place(exc: BaseException) -> str:
    """The innermost frame of the product's own code (`features/`, `pipelines/`, `models/`) the exception passed."""
    place = "?"
    for fr in traceback.extract_tb(exc.__traceback__):
        path = Path(fr.filename)
        rel = path.relative_to(REPO) if REPO in path.parents else None
        if rel is not None and rel.parts[0] in ("features", "pipelines", "models"):
            place = f"{rel}:{fr.name}"
    return place


def run_case(
    seed: int, sets: list[DataSet], work: Path, timeout: float, damages: list[str] | None = None
) -> dict[str, Any]:
    """One case: copy a data set, damage it (seeded), load it. Its record (outcome `ok`, `stop` or a finding).
    `damages`: these, in this order, instead of one to three drawn from the seed (the data set still drawn)."""
    from features.contract import TABLES
    from features.errors import StructuralError
    from pipelines.config import load_config
    from pipelines.loading import load_configured

    rng = random.Random(seed)
    ds = rng.choice(sets)
    case = work / f"case-{seed}"
    shutil.rmtree(case, ignore_errors=True)
    shutil.copytree(ds.root, case)
    names = damages if damages is not None else rng.sample(sorted(DAMAGES), k=rng.choice([1, 1, 2, 3]))
    done = []
    for name in names:
        try:
            done.append(f"{name}: {DAMAGES[name](case, rng, ds)}")
        except (
            Exception
        ) as exc:  # the damage itself could not be applied (a file gone): recorded, not the product's
            done.append(f"{name}: not applied ({type(exc).__name__})")
    record: dict[str, Any] = {"seed": seed, "set": ds.name, "damages": done}
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    t0 = time.process_time()
    try:
        loaded = load_configured(case, ds.mapping, load_config(None))  # `data:` as the commands read it
        broken = check_outcome(loaded) + check_rejects_files(loaded, work / f"case-{seed}-rejects")
        record["report"] = {
            t: (r.rows_in, r.accepted, r.rejected_by_reason) for t, r in loaded.result.report.items()
        }
        record["outcome"] = "broken" if broken else "ok"
        if broken:
            record["detail"] = broken
    except StructuralError as exc:
        text = str(exc)
        names_one = any(t in text for t in [*TABLES, *ds.tables, *(p.name for p in case.iterdir())])
        record["outcome"] = "stop" if names_one else "stop-unnamed"
        record["detail"] = text.splitlines()[0][:300] if text else ""
        record["stop"] = text.splitlines()[0] if text else ""
    except Hang:
        record["outcome"] = "hang"
    except Exception as exc:  # the finding: a traceback instead of the contract
        record["outcome"] = "exception"
        record["type"] = type(exc).__name__
        record["place"] = _place(exc)
        record["detail"] = str(exc).splitlines()[0][:300] if str(exc) else ""
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    record["cpu"] = round(time.process_time() - t0, 3)
    return record


def finding_class(record: dict[str, Any]) -> str | None:
    """A finding's class (its outcome, exception type and place), None for a kept promise."""
    if record["outcome"] in ("ok", "stop"):
        return None
    if record["outcome"] == "exception":
        return f"exception {record['type']} at {record['place']}"
    return record["outcome"]


def _cleanup(case: Path) -> None:
    for p in case.rglob("*") if case.exists() else []:
        try:
            p.chmod(0o700) if not p.is_symlink() else None
        except OSError:
            pass
    shutil.rmtree(case, ignore_errors=True)


# --- the Spark engine on a sample -------------------------------------------------------------------------------


def spark_agrees(spark: Any, case: Path, record: dict[str, Any], loaded_stop: str | None) -> str | None:
    """`pipelines.engines.spark_input.load_spark` on a case the pandas loader read (`record`): None when both
    engines agree (the same stop message, any stop when the case has several damages: either may be said first;
    or the same report: rows in, accepted, rejected by reason), else what differs. A traceback of the Spark engine is a disagreement too."""
    from features.errors import StructuralError
    from pipelines.config import load_config
    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_input import load_spark

    cfg = load_config(None)
    try:
        with mapped_errors():
            got, _ = load_spark(spark, case, cfg, case.parent / f"{case.name}-spark-rejects")
    except StructuralError as exc:
        if loaded_stop is None:
            return f"spark stops, pandas does not: {str(exc).splitlines()[0][:200]}"
        if str(exc).splitlines()[0] == loaded_stop or len(record["damages"]) > 1:  # either problem first
            return None
        return f"other stop: {str(exc).splitlines()[0][:200]}"
    except Exception as exc:
        return f"spark {type(exc).__name__} at {_place(exc)}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    if loaded_stop is not None:
        return f"pandas stops, spark does not: {loaded_stop[:200]}"
    want = record.get("report")
    have = {t: (r.rows_in, r.accepted, r.rejected_by_reason) for t, r in got.result.report.items()}
    return None if have == want else f"reports differ: pandas {want}, spark {have}"


# --- scoring a sample ------------------------------------------------------------------------------------------------


def train_demo(root: Path, ds: DataSet) -> Path:
    """A config whose registry holds a small model trained on the good demo data (once per `root`)."""
    import yaml

    config = root / "config.yaml"
    if (root / "trained.ok").exists():
        return config
    cfg = {
        "labels": {"n_cutoffs": 3, "cutoff_step_months": 2},
        "models": {
            "lightgbm": {"n_estimators": 30, "num_leaves": 7, "min_child_samples": 20},
            "churn_lightgbm": {"n_estimators": 30, "num_leaves": 7, "min_child_samples": 50},
            "backtest_folds": 1,
        },
        "mlflow": {"tracking_dir": str(root / "mlruns")},
    }
    config.write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "pipelines.cli", "train", "--data", str(ds.root), "--config", str(config)]
    cmd += ["--as-of", "2024-07-01"]
    subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, timeout=1800)
    (root / "trained.ok").write_text("")
    return config


def score_case(case: Path, config: Path, timeout: float) -> tuple[int, str]:
    """`cvp score` on a case directory: its exit code and last lines."""
    cmd = [sys.executable, "-m", "pipelines.cli", "score", "--data", str(case), "--config", str(config)]
    cmd += [
        "--as-of",
        "2024-12-01",
        "--out",
        str(case.parent / f"{case.name}-scores.parquet"),
        "--allow-stale",
    ]
    try:
        res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, "timeout"
    return res.returncode, (res.stdout + res.stderr)[-600:]


# --- the run ---------------------------------------------------------------------------------------------------------


def seeds_of(text: str) -> list[int]:
    """`0:200` (a range) or `3,17,42` (a list)."""
    if ":" in text:
        a, b = text.split(":")
        return list(range(int(a), int(b)))
    return [int(s) for s in text.split(",") if s]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0:100", help="a range a:b or a list a,b,c")
    ap.add_argument("--budget", type=float, default=600.0, help="CPU seconds at most, then stop")
    ap.add_argument(
        "--timeout", type=float, default=60.0, help="seconds per case (a hang past it is a finding)"
    )
    ap.add_argument("--customers", type=int, default=300)
    ap.add_argument("--retail-lines", type=int, default=3000)
    ap.add_argument(
        "--score-every", type=int, default=0, help="run `cvp score` on every N-th case (0: never)"
    )
    ap.add_argument(
        "--spark-every", type=int, default=0, help="compare with the Spark engine every N-th case"
    )
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "cvp-fuzz")
    ap.add_argument("--keep", action="store_true", help="keep each finding's case directory")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    good = args.out / "good"
    sets = demo_sets(good, args.customers, 7) + retail_sets(good, args.retail_lines)
    config = train_demo(good, sets[1]) if args.score_every else None
    work = args.out / "cases"
    work.mkdir(exist_ok=True)
    stack = contextlib.ExitStack()
    spark = None
    if args.spark_every:
        from pipelines.engines.spark_session import spark_session

        spark = stack.enter_context(spark_session("local[2]"))
    classes: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    start = time.process_time()
    n = 0
    with stack, (args.out / "findings.jsonl").open("a") as log:
        for seed in seeds_of(args.seeds):
            if time.process_time() - start > args.budget:
                break
            record = run_case(seed, sets, work, args.timeout)
            if config is not None and n % args.score_every == 0 and record["set"].startswith("demo"):
                record["score_exit"], tail = score_case(work / f"case-{seed}", config, args.timeout * 5)
                if record["score_exit"] not in (0, 2):
                    record["outcome"], record["detail"] = f"score exit {record['score_exit']}", tail
            if spark is not None and n % args.spark_every == 0 and record["outcome"] in ("ok", "stop"):
                if record["set"].startswith("demo"):
                    differs = spark_agrees(spark, work / f"case-{seed}", record, record.get("stop"))
                    record["spark"] = differs or "agrees"
                    if differs:
                        record["outcome"], record["detail"] = "engines differ", differs
            record.pop("report", None)
            n += 1
            outcomes[record["outcome"]] += 1
            kind = finding_class(record)
            if kind:
                classes[kind] += 1
                log.write(json.dumps(record, ensure_ascii=False) + "\n")
                log.flush()
            shutil.rmtree(work / f"case-{seed}-spark-rejects", ignore_errors=True)
            if not (kind and args.keep):
                _cleanup(work / f"case-{seed}")
    cpu = time.process_time() - start
    print(f"{n} cases, {cpu:.0f} CPU-s; outcomes {dict(outcomes)}")
    for kind, count in classes.most_common():
        print(f"  {count:5d}  {kind}")
    return 1 if classes else 0


if __name__ == "__main__":
    sys.exit(main())
