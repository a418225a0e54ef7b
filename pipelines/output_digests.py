"""The output set's digests (seam round 31): the manifest records each published file's sha256 (`DIGESTS`), and
every reader of the set checks the files it reads against it (`digest_problem`), through `pipelines.outputs`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from features.validation import StructuralError

#: The manifest's record of its set's files (round 31): kind (`output_paths`) -> sha256 of the file's bytes as
#: published; every reader of the set checks the files it reads against it (`digest_problem`).
DIGESTS = "file_digests"


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, streamed; of a directory (the Spark engine's Parquet scores): of each file's
    relative name and digest, in name order, of the files readers read: a name starting with `.` or `_` is
    skipped as pyarrow and Spark skip it (a `.DS_Store`, a Hadoop `.part-0.parquet.crc`, `_SUCCESS`)."""
    path = Path(path)
    if not path.is_dir():
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    whole = hashlib.sha256()
    read = (p for p in path.rglob("*") if p.is_file())
    for part in sorted(p for p in read if not any(n[0] in "._" for n in p.relative_to(path).parts)):
        whole.update(f"{part.relative_to(path).as_posix()}\0{file_digest(part)}\n".encode())
    return whole.hexdigest()


def digest_problem(path: Path, kind: str, manifest: Mapping[str, Any]) -> str | None:
    """What is wrong with the set's file `path` of `kind` against its manifest's digests (None: nothing, or a
    manifest written before they were recorded: `digest_note`). The one rule of every reader of a set."""
    recorded = manifest.get(DIGESTS)
    if not isinstance(recorded, dict):
        return None
    path = Path(path)
    if kind not in recorded:
        return None if not path.exists() else f"{path} was not published by its run (it published none)."
    if not path.exists():
        return f"{path} is missing: its run published it (deleted since?)."
    if file_digest(path) != recorded[kind]:
        return (
            f"{path} is not the file its run published (another sha256): edited since the run published it?"
        )
    return None


def check_digests(paths: Mapping[str, Path], kinds: Iterable[str], manifest: Mapping[str, Any]) -> None:
    """Refuse (exit 2) a set whose files of `kinds` are not those its run published (`digest_problem`)."""
    for kind in kinds:
        problem = digest_problem(paths[kind], kind, manifest)
        if problem is not None:
            raise StructuralError(
                f"{problem} The set beside {paths['scores'].name} is read only as `cvp score` wrote it: score "
                "again (a file of the set changed by hand is not read as the run's)"
            )


def digest_note(manifest: Mapping[str, Any], scores_path: Path) -> str | None:
    """The note a reader gives of a set whose manifest records no digests (written before round 31)."""
    if isinstance(manifest.get(DIGESTS), dict):
        return None
    return (
        f"the manifest beside {Path(scores_path).name} records no digests of its files (written by a `cvp score` "
        "before round 31, or its `file_digests` removed): they are read as they are, an edit since the run is not "
        "detected; score again to have them"
    )
