"""Atomic writes through a staging file or directory beside the target, and the sweep of what killed runs left.

A file (`atomic_path`: feature tables, rejects, manifests) or a directory (`atomic_directory`: the report pages,
the profile tables) is written under a hidden name beside its target, then renamed onto it. Those names say which
machine and process wrote them, `.<target>.<host>-<pid>.<random>.tmp`, so the next write to the same target
removes what a run killed there left (this machine's, whose process no longer runs; a run on another machine of a
shared disk, or one still going, keeps its own). Was: a killed `cvp report` (SIGTERM, SIGKILL) left a hidden copy
of every manager's pages beside the report directory, and every later run another, never removed.

Several files published together (`atomic_files`: `cvp features`' table and manifest, the demo company's tables;
`publish_files`: the scores' output set, `pipelines.outputs.publish`, with `cvp score`'s rejects directory staged
by `stage_directory`) are staged, then renamed into place through a journal (`.<stem>.publish.json`) that the next
run (or reader) completes if a kill came during the renames.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from features.validation import StructuralError
from pipelines.locks import held


def host() -> str:
    """This machine's name as one staging-name field (no dots: they separate the fields)."""
    import socket

    return re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def umask() -> int:
    """The process's umask, read without changing it where the system tells it (Linux's `/proc/self/status`):
    setting it to 0 for a moment to read it, as `os.umask` must, gave a file another thread created meanwhile (the
    contributions writer's, a Spark driver's) the permissions of no umask at all, 0666, writable by anyone."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    os.umask(mask := os.umask(0))
    return mask


def _prefix(target: Path) -> str:
    return f".{target.name}.{host()}-{os.getpid()}."


def remove_abandoned(target: Path) -> list[Path]:
    """Remove the staging files and directories killed runs left beside `target` (returns them): named
    `.<target>.<host>-<pid>.<random>.tmp` with this machine's host and a process that no longer runs."""
    target = Path(target)
    pattern = rf"^\.{re.escape(target.name)}\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.[a-z0-9_]+\.tmp$"
    return remove_dead(target.parent, pattern)


def remove_dead(parent: Path, pattern: str, dirs_only: bool = False) -> list[Path]:
    """Remove the entries of `parent` whose name matches `pattern` (groups `host` and `pid`) with this machine's
    host and a process that no longer runs (returns them); other hosts' (a shared file system) and live
    processes' entries stay. `dirs_only`: files of that name stay too. The one sweep of every staging name."""
    parent = Path(parent)
    if not parent.is_dir():
        return []
    name = re.compile(pattern)
    removed, here = [], host()
    for path in parent.iterdir():
        m = name.match(path.name)
        if m is None or m["host"] != here or alive(int(m["pid"])):
            continue
        if not _finish_set_of(path):  # staged for a set a killed run's journal names: that set's to publish
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif dirs_only:
            continue
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it onto `target` only if the block completes. A killed
    run leaves either the old file or none, never a half-written one (rename is atomic on POSIX)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(target)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(target), suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~umask())  # mkstemp makes 0600; results are for other systems to read
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def replace_path(src: Path, dst: Path) -> None:
    """Rename `src` onto `dst`. A directory replacing an existing file or directory: the old one is renamed
    away first and deleted only after the new one is in place (a kill leaves one of the two, never a mix)."""
    if src.is_dir() and (dst.exists() or dst.is_symlink()):
        old = dst.with_name(f".{dst.name}.old.{uuid.uuid4().hex}")
        os.replace(dst, old)
        os.replace(src, dst)
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()
        return
    os.replace(src, dst)


def check_replaceable(target: Path, marker: str) -> Path:
    """`target` may be replaced whole by `atomic_directory`: absent, empty, or holding `marker` (returns it
    resolved). Commands call it before their work too (`cvp backtest --out`), so the refusal comes first."""
    target = Path(target).resolve()
    if target.exists() and not target.is_dir():
        raise StructuralError(f"{target} exists and is not a directory")
    if target.is_dir() and not (target / marker).exists() and any(target.iterdir()):
        raise StructuralError(
            f"{target} is not empty and was not written by cvp (no {marker} in it): choose a new or empty "
            f"directory; its files are left untouched"
        )
    return target


@dataclass
class StagedDirectory:
    """A directory staged beside `target` (same file system) to replace it whole: alone (`swap_in`, as
    `atomic_directory` does) or as part of a set of files published through one journal (`cvp score`'s rejects
    with its scores: `pipelines.outputs.publish`). `discard` removes the stage of a run that publishes nothing."""

    target: Path
    stage: Path
    marker: str

    @property
    def lock(self) -> Path:
        return self.target.parent / f".{self.target.name}.publish.lock"

    def seal(self, journal: Path | None = None) -> None:
        """Mark the stage as cvp's (`marker`); `journal`: the journal that will publish it, named inside it
        (`JOURNAL_NOTE`) so the sweep of a killed run's stage completes that journal instead of deleting it."""
        (self.stage / self.marker).write_text(
            "written by cvp; this directory is replaced as a whole on every run\n"
        )
        if journal is not None:
            (self.stage / JOURNAL_NOTE).write_text(str(Path(journal).resolve()), encoding="utf-8")

    def remove_old(self) -> None:
        """What a run killed between the two renames of `replace_path` left (`.<name>.old.*`); under `lock`."""
        for old in self.target.parent.glob(f".{self.target.name}.old.*"):
            shutil.rmtree(old, ignore_errors=True)

    def swap_in(self) -> None:
        self.seal()
        with held(self.lock, f"the directory {self.target}"):  # one run at a time
            self.remove_old()
            replace_path(self.stage, self.target)

    def discard(self) -> None:
        if self.stage.exists():
            shutil.rmtree(self.stage, ignore_errors=True)


def stage_directory(target: Path, marker: str) -> StagedDirectory:
    """An empty staging directory beside `target` (`target` absent, empty or marked: `check_replaceable`), after
    the sweep of what killed runs left there."""
    target = check_replaceable(target, marker)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(target)
    stage = Path(tempfile.mkdtemp(prefix=_prefix(target), suffix=".tmp", dir=target.parent))
    os.chmod(stage, 0o777 & ~umask())  # mkdtemp makes 0700; results are for other people to read
    return StagedDirectory(target, stage, marker)


@contextlib.contextmanager
def atomic_directory(target: Path, marker: str) -> Iterator[Path]:
    """Yield an empty staging directory beside `target`; when the block completes it replaces `target` whole.

    Nothing of an earlier run survives next to the new files; a killed run leaves the previous directory (or, in
    the instant between the two renames, none), never a mix, and its staging directory is removed by the next run
    (`remove_abandoned`); two runs into one `target` (two `cvp report`s at once) swap it one at a time
    (`pipelines.locks`: `.<name>.publish.lock` beside it). `target` must be absent, empty, or published here
    before (it holds the file `marker`): a user's own files are never deleted."""
    staged = stage_directory(target, marker)
    try:
        yield staged.stage
        staged.swap_in()
    finally:
        staged.discard()


#: In a directory staged for a set published through a journal: the journal's path (`StagedDirectory.seal`).
JOURNAL_NOTE = ".cvp-publish-journal"


def _finish_set_of(path: Path) -> bool:
    """Before the sweep removes a dead run's stage: a directory staged for a set whose journal was written (its
    `JOURNAL_NOTE`) is published by completing that journal (was: `cvp score --rejects` killed while publishing,
    the next run's sweep deleted its staged rejects and the journal then published its scores beside the previous
    run's rejects). False when the stage must stay (the journal cannot be completed now)."""
    note = path / JOURNAL_NOTE
    if not path.is_dir() or path.is_symlink() or not note.is_file():
        return True
    try:
        complete_interrupted(
            Path(note.read_text(encoding="utf-8").strip()), f"the set published with {path.name}"
        )
    except (OSError, StructuralError):
        return False
    return path.exists()  # published by the journal: nothing left to remove


def journal_for(target: Path) -> Path:
    """The journal of a set of files published together, beside its main file: `.<stem>.publish.json` (hidden;
    exists only while the set is being published). Its lock is `.<stem>.publish.lock` (`pipelines.locks`)."""
    target = Path(target)
    stem = target.name[: -len(target.suffix)] if target.suffix else target.name
    return target.with_name(f".{stem}.publish.json")


def journal_lock(journal: Path) -> Path:
    return journal.with_name(journal.name.removesuffix(".json") + ".lock")


def publish_files(
    moves: list[tuple[str, Path, Path]],
    remove: list[Path],
    journal: Path,
    after=None,
    locks: Iterable[Path] = (),
) -> None:
    """Publish staged files as one set: the journal (written atomically) names the renames (`(name, staged,
    target)`, in order) and the removals to come, then they are done and the journal is removed. A run killed
    after the journal is completed by the next reader or writer (`roll_forward`), so a reader gets one run's whole
    set: the previous one (killed before the journal) or the new one. The caller holds the journal's lock and
    `locks` (those of other places the set reaches: `cvp score`'s rejects directory), which the journal names for
    whoever completes it."""
    import json

    plan = {
        "moves": [{"file": k, "from": str(s), "to": str(t)} for k, s, t in moves],
        "remove": [str(p) for p in remove],
        "locks": [str(p) for p in locks],
    }
    text = json.dumps(plan, indent=2, sort_keys=True)
    with atomic_path(journal) as tmp:
        tmp.write_text(text + "\n", encoding="utf-8")
    if after is not None:
        after("journal")
    roll_forward(journal, after)


def roll_forward(journal: Path, after=None) -> None:
    """Carry out a journal's renames (those not done yet) and removals, then drop the journal. Idempotent."""
    import json

    plan = json.loads(Path(journal).read_text(encoding="utf-8"))
    for move in plan["moves"]:
        if Path(move["from"]).exists():
            replace_path(Path(move["from"]), Path(move["to"]))
        if Path(move["to"]).is_dir():  # a published directory keeps no pointer to its journal
            (Path(move["to"]) / JOURNAL_NOTE).unlink(missing_ok=True)
        if after is not None:
            after(move["file"])
    for path in plan["remove"]:
        Path(path).unlink(missing_ok=True)
    Path(journal).unlink()


def complete_interrupted(journal: Path, what: str) -> bool:
    """Finish publishing a set whose run was killed after its journal (True if there was one), under the set's
    lock (a journal of a run still publishing is that run's to finish). `what` names the set in the error."""
    journal = Path(journal)
    if not journal.exists():
        return False
    import json

    try:
        with held(journal_lock(journal), what), contextlib.ExitStack() as more:
            if not journal.exists():  # its run finished it while this one waited
                return False
            for lock in json.loads(journal.read_text(encoding="utf-8")).get("locks", []):
                more.enter_context(held(Path(lock), what))  # the rejects directory's: a swap there waits
            roll_forward(journal)
    except (OSError, ValueError, KeyError) as exc:
        raise StructuralError(
            f"an interrupted run left {journal.name} beside {what} and it cannot be completed ({exc}); rerun it"
        ) from exc
    return True


def earlier_twin(
    path: Path, manifest: Path, ours: Callable[[Path, Mapping[str, Any]], bool]
) -> tuple[Path | None, str | None]:
    """The table of the other format beside `path` (`x.csv` for `x.parquet`, and back), which the set published at
    `path` would leave beside its manifest and other files (named by the stem alone). Returns (the file, None) when
    it is provably the replaced set's own table: its manifest (`manifest`, the file the new set replaces) exists and
    `ours(file, manifest)` says so (the scores: the file's `run_id` column is the manifest's run; a feature table:
    the manifest names it); the caller removes it with the publishing. Else (None, a warning that it is left: an
    older set's table or a file of the user's), or (None, None) when there is none. Round 27 review, was: any file
    whose header held the set's columns removed without a word (a user's annotated `scores.csv` beside a first
    `scores.parquet`)."""
    import json

    twins = {".csv": ".parquet", ".parquet": ".csv"}
    path = Path(path)
    other = path.with_suffix(twins.get(path.suffix, path.suffix))
    if other == path or not other.is_file():
        return None, None
    try:
        recorded = json.loads(Path(manifest).read_text(encoding="utf-8"))
        proven = isinstance(recorded, dict) and ours(other, recorded)
    except Exception:  # no manifest, or one (or a file) that cannot be read: not proven ours, left
        proven = False
    if proven:
        return other, None
    return None, (
        f"{other} is left beside {path.name}: it is not known to be the table of the set {Path(manifest).name} "
        f"described (an older set's, or a file of yours), and {Path(manifest).name} now describes {path.name}"
    )


@dataclass
class Twin:
    """The table of the other format beside a set, looked at once, under the set's lock (`decided_under_lock`,
    `ours` the proof that it is the replaced set's): it fills `removed` and `left_now` (round 29, was: looked at
    before the lock too, only to pre-fill the staged manifest's warning, then decided again under it)."""

    ours: Callable[[Path, Mapping[str, Any]], bool]
    removed: Path | None = None  # the file removed with the renames
    # the warning of a table left beside the set, decided under the lock: the one in the published manifest, for
    # the caller to print (review of round 28, was: the one found before the lock printed at once, then dropped
    # from the manifest when the file was gone under the lock: the console and the manifest disagreed)
    left_now: str | None = None


def decided_under_lock(twin: Twin, path: Path, manifest: Path, staged_manifest: Path) -> Path | None:
    """`earlier_twin` decided under the set's lock, once (the one rule of `outputs.publish` and `atomic_files`):
    another run may publish there in the other format until the lock is held (round 28, was: decided before the
    lock only, so the other run's table stayed beside this set's manifest, not a word). The staged manifest's
    `warnings` then say what is left beside the set (`twin.left_now`); returns the file to remove with the
    renames. A table gone by then: nothing to remove, nothing said (review of round 28, was: its name kept in the
    journal's remove list, so a file put back under that name before the journal completed was deleted, with a
    false "removed" note)."""
    import json

    now, said = earlier_twin(path, manifest, twin.ours)
    if said:
        recorded = json.loads(Path(staged_manifest).read_text(encoding="utf-8"))
        warnings = [w for w in recorded.get("warnings") or [] if w != said]
        recorded["warnings"] = [*warnings, said]
        with atomic_path(Path(staged_manifest)) as tmp:
            tmp.write_text(
                json.dumps(recorded, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
            )
    twin.removed, twin.left_now = now, said
    return now


def table_columns(path: Path) -> list[str]:
    """A CSV or Parquet table's column names (the CSV header: `csv_reading.header_record`), without its rows."""
    if Path(path).suffix == ".csv":
        from pipelines.csv_reading import header_record

        return header_record(path)
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


@contextlib.contextmanager
def atomic_files(
    targets: dict[str, Path], what: str, remove: Iterable[Path] = (), twin: Twin | None = None
) -> Iterator[dict[str, Path]]:
    """Yield staging paths for several files published together (`cvp features`' table and manifest): written
    into one staging directory beside the first target, then renamed into place through a journal
    (`publish_files`) when the block completes. A run killed before leaves the previous set whole; one killed
    during the renames is completed by the next run. Was: the files written one by one, a kill leaving a new
    table beside the previous run's manifest. `remove`: files of an earlier set the new one replaces (removed
    with the renames, as part of the set). `twin`: the table of the other format beside the first target, the
    replaced set's removed with the renames too (`decided_under_lock`; the manifest: the `manifest` target)."""
    paths = {k: Path(p) for k, p in targets.items()}
    first = next(iter(paths.values()))
    journal = journal_for(first)
    first.parent.mkdir(parents=True, exist_ok=True)
    complete_interrupted(journal, what)
    remove_abandoned(first)
    stage = Path(tempfile.mkdtemp(prefix=_prefix(first), suffix=".tmp", dir=first.parent))
    try:
        staged = {k: stage / f"{k}-{p.name}" for k, p in paths.items()}
        yield staged
        with held(journal_lock(journal), what):
            gone = (
                None
                if twin is None
                else decided_under_lock(twin, first, paths["manifest"], staged["manifest"])
            )
            stale = [*remove, *([gone] if gone is not None else [])]
            publish_files([(k, staged[k], paths[k]) for k in paths], stale, journal)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


@contextlib.contextmanager
def removed_if_stopped(paths: Iterable[Path]) -> Iterator[list[Path]]:
    """Directories a command's checks make for its outputs (`--out`'s missing parents, probed; a new `--history`,
    marked) removed again when the block stops (an exception, exit 2 included). Only what THIS process made: the
    files the block adds to the yielded list (`cvp score`: the history marker when its `open_history` wrote it),
    then each of `paths` and its ancestors that did not exist before the block, deepest first, with `os.rmdir`,
    which leaves a directory holding anything (another run's marker, lock or staging: two runs given the same new
    `--out`/`--history`). Lock files are never removed (another process may wait on one): a directory holding
    one stays. Round 31, was: a `cvp score` whose model was not found left its `--out` directory and an empty,
    marked `--history`."""
    made: list[Path] = []
    for path in paths:
        path = Path(path).absolute()
        made += [d for d in (path, *path.parents) if not d.exists() and d not in made]
    ours: list[Path] = []
    try:
        yield ours
    except BaseException:
        for file in ours:
            if not file.name.endswith(".lock"):
                with contextlib.suppress(OSError):
                    file.unlink(missing_ok=True)
        for folder in sorted(made, key=lambda d: len(d.parts), reverse=True):
            with contextlib.suppress(OSError):  # not empty (another run's files, a lock), or gone
                os.rmdir(folder)
        raise
