"""The version of the code that computes features and predictions: recorded with a model when it is trained
(`data.code` of its contract) and in every scoring run's manifest (`code_version`), and compared when it scores.

A model pickles its fitted boosters, not the code around them: the features it is given and the predictions it makes
come from whatever `features/` and `models/` the scoring process imports. When that code is not the code the model
was trained with (a release installed since, a feature's definition changed), its features may be computed
otherwise than in training and the scores can be wrong without any other sign. The version is the package's
version and a sha256 of the source of each of those packages (every `.py` file, by relative path).
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


@lru_cache(maxsize=1)
def code_version() -> dict[str, str]:
    """This process's code: `package` (the installed version) and `<package>_sha256` per package of `PACKAGES`."""
    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        version = "unknown"
    out = {"package": version}
    for name in PACKAGES:
        root = Path(import_module(name).__file__ or "").parent
        digest = hashlib.sha256()
        for path in sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        out[f"{name}_sha256"] = digest.hexdigest()
    return out


def code_difference(recorded: Any, current: dict[str, str]) -> str | None:
    """What differs between the code a model was trained with (`recorded`, its contract's `data.code`) and this
    run's; None when nothing does, or for a model registered before models recorded their code."""
    if not isinstance(recorded, dict):
        return None
    changed = [
        f"{name} code sha256 {str(recorded.get(f'{name}_sha256'))[:12]} then {current[f'{name}_sha256'][:12]}"
        for name in PACKAGES
        if recorded.get(f"{name}_sha256") != current[f"{name}_sha256"]
    ]
    if not changed:
        return None
    return (
        f"the model was trained with other feature or model code than this run's (package "
        f"{recorded.get('package')} then {current['package']}; {', '.join(changed)}): its features may be computed "
        "otherwise than in training. Retrain the model with this code, or score with the code that trained it"
    )
