"""The score history's partition digests (seam round 32): a partition's `run.json` records the sha256 of each file
it holds as appended (`file_digests`: file name -> digest, `pipelines.output_digests`, the output set's one rule),
and every read of a partition's file checks it (`check_partition_file`): a partition edited by hand (a tier
changed, a row deleted) is refused, never read by the next run's stable tiers or the reports' moves as written.
A partition appended before round 32 records none: read as it is, with a note (`undigested_note`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from features.validation import StructuralError
from pipelines.output_digests import DIGESTS, digest_problem, file_digest

__all__ = ["check_partition_file", "check_run_files", "partition_digests", "undigested_note"]

#: (path, size, mtime_ns) -> sha256: a file read several times by one run (stable tiers, moves) is hashed once
_SEEN: dict[tuple[str, int, int], str] = {}


def partition_digests(folder: Path, names: Iterable[str]) -> dict[str, str]:
    """sha256 of each of `names` present in the partition (or its staging directory) `folder`, for `run.json`."""
    return {name: file_digest(Path(folder) / name) for name in names if (Path(folder) / name).is_file()}


def _digest(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _SEEN:
        _SEEN[key] = file_digest(path)
    return _SEEN[key]


def check_partition_file(folder: Path, name: str, digests: dict[str, str] | None, as_of: str) -> None:
    """Refuse (exit 2) the partition's file `name` unless it is the file appended (`digest_problem`, the readers'
    rule of the output set). `digests`: its run.json's `file_digests`, None in a partition appended before they
    were recorded (read as it is: `undigested_note`)."""
    if digests is None:
        return
    path = Path(folder) / name
    if name in digests and path.is_file() and _digest(path) == digests[name]:
        return  # the common case, the file hashed once per run
    problem = digest_problem(path, name, {DIGESTS: digests})
    if problem is not None:
        raise StructuralError(
            f"history partition {folder}: {problem} A history's run is read only as `cvp score --history` "
            f"appended it: score that as-of again (`cvp score --as-of {as_of} --history ...`: its partition is "
            "replaced whole), or restore the file"
        )


def check_run_files(run: Any, names: Iterable[str]) -> None:
    """Each file `names` of the history's run `run` (a `HistoryRun`) is the file appended, or exit 2: called when a
    run starts on the run before its as-of (`pipelines.history.runs_before`), so a nightly job stops in seconds, not
    after scoring; each later read checks its file again (hashed once: `_digest`)."""
    for name in names:
        check_partition_file(run.path, name, run.file_digests, run.as_of)


def undigested_note(runs: Sequence[Any]) -> str | None:
    """The note of a run whose history holds partitions appended before their digests were recorded (`file_digests`
    absent): how many, the first and the last as-of (a year of nightly runs is one line, not 365 dates)."""
    old = sorted(r.as_of for r in runs if r.file_digests is None)
    if not old:
        return None
    which = f"run as of {old[0]}" if len(old) == 1 else f"{len(old)} runs as of {old[0]} to {old[-1]}"
    return (
        f"the history's {which} record no digests of their files (appended before the history recorded them, or "
        "their run.json's `file_digests` removed): read as they are, an edit since is not detected"
    )
