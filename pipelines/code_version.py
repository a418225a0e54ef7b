"""The version of the code that computes features and predictions: recorded with a model when it is trained
(`data.code` of its contract) and in every scoring run's manifest (`code_version`), and compared when it scores.

A model pickles its fitted boosters, not the code around them: the features it is given and the predictions it makes
come from whatever `features/` and `models/` the scoring process imports. When that code is not the code the model
was trained with (a release installed since, a feature's definition changed), its features may be computed
otherwise than in training and the scores can be wrong without any other sign. The version is the package's
version, a sha256 of the source of each of those packages (every `.py` file, by relative path) and the versions of
the libraries the model's fitted objects and features come from (`LIBRARIES`: a scikit-learn calibrator unpickled
by another scikit-learn, pandas computing the features otherwise; round 30, was: not recorded, an upgrade of them
between `cvp train` and `cvp score` not said, MLflow's own version warning silenced at loading), and a sha256 of
the modules of `pipelines/` that turn a data directory's files into the values read (`READING`: the readers, the
CSV and Parquet conversions, the mapping language; round 32, was: a change of how the data is read not said).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import import_module, metadata
from pathlib import Path
from typing import Any

#: The packages whose code computes a model's features and predictions.
PACKAGES = ("features", "models")
DISTRIBUTION = "customer-value-predictor"
#: The libraries whose versions a model's predictions depend on: its pickled boosters and estimators (lightgbm,
#: scikit-learn, numpy) and the code computing its features and the BTYD fits at the as-of (pandas, scipy).
LIBRARIES = ("lightgbm", "scikit-learn", "numpy", "pandas", "scipy")
#: The modules of `pipelines/` (paths under it) whose change may change the values read from a data directory on
#: the pandas engine: the table files' readers and their Parquet and UUID conversions (`io`, `table_files`), the
#: CSV reader (`csv_reading`) and the mapping language (`mapping/`); not the checks that only stop a run elsewhere,
#: nor the Spark engine's readers (held to the pandas engine's values by their parity tests)
READING = ("io.py", "table_files.py", "csv_reading.py", "mapping")


def _source_digest(root: Path, paths: list[Path]) -> str:
    """sha256 of the source files `paths` under `root`, each by its relative path."""
    digest = hashlib.sha256()
    for path in sorted(p for p in paths if "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=1)
def code_version() -> dict[str, str]:
    """This process's code: `package` (the installed version), `<package>_sha256` per package of `PACKAGES` and
    `<library>` (its installed version) per library of `LIBRARIES`, `reading_sha256` of the modules `READING`."""
    out = {"package": _version(DISTRIBUTION)}
    for name in PACKAGES:
        root = Path(import_module(name).__file__ or "").parent
        out[f"{name}_sha256"] = _source_digest(root, list(root.rglob("*.py")))
    root = Path(__file__).parent  # pipelines/
    reading = [p for n in READING for p in ((root / n).rglob("*.py") if (root / n).is_dir() else [root / n])]
    out["reading_sha256"] = _source_digest(root, reading)
    return out | {name: _version(name) for name in LIBRARIES}


def code_difference(recorded: Any, current: dict[str, str]) -> str | None:
    """What differs between the code a model was trained with (`recorded`, its contract's `data.code`) and this
    run's: our feature and model code, then the libraries (`LIBRARIES`); None when nothing does, or for a model
    registered before models recorded their code (a library only when the model recorded its version: those
    registered before round 30 are judged on our code alone)."""
    if not isinstance(recorded, dict):
        return None
    changed = [
        f"{name} code sha256 {str(recorded.get(f'{name}_sha256'))[:12]} then {current[f'{name}_sha256'][:12]}"
        for name in PACKAGES
        if recorded.get(f"{name}_sha256") != current[f"{name}_sha256"]
    ]
    if recorded.get("reading_sha256") not in (None, current.get("reading_sha256")):  # none before round 32
        changed.append(
            f"data-reading code ({', '.join(READING)} of pipelines/) sha256 {str(recorded['reading_sha256'])[:12]} "
            f"then {str(current.get('reading_sha256'))[:12]}"
        )
    libraries = [
        f"{name} {recorded[name]} then {current.get(name)}"
        for name in LIBRARIES
        if recorded.get(name) is not None and recorded[name] != current.get(name)
    ]
    said = []
    if changed:
        said.append(
            f"other feature or model code than this run's (package {recorded.get('package')} then "
            f"{current['package']}; {', '.join(changed)})"
        )
    if libraries:
        said.append(f"other libraries than this run's ({', '.join(libraries)})")
    if not said:
        return None
    return (
        f"the model was trained with {' and '.join(said)}: its features and predictions may be computed "
        "otherwise than in training. Retrain the model with this code, or score with the code and libraries that "
        "trained it"
    )
