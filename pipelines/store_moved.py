"""A local tracking store moved or copied to another folder: its artefact paths follow it.

MLflow's sqlite store records where each experiment, run and model keeps its files as absolute `file:` URIs. The
product's store keeps them beside it (`<tracking_dir>/artifacts`, `tracking_store.ensure_experiment`), so a project
folder moved, a store copied to another machine or to try something out, kept naming the old folder: moved, every
model was "registered but its files cannot be read" once the old folder was gone; copied, the copy read the
original's models and wrote its own trainings' files into the original's folder (two stores sharing one artefact
folder, the copy broken when the original is cleaned). `follow_move` puts the recorded paths where the store is
now, when the store's own `artifacts` folder came with it; otherwise loading says which folder the store names.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlparse

#: The columns of MLflow's sqlite schema (3.x) that hold where files are: every one names the artefact folder.
LOCATION_COLUMNS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "storage_location"),
    ("model_versions", "source"),
)
ARTIFACTS = "artifacts"


def _folder_of(location: str) -> Path | None:
    """The store folder a product experiment's artefact location (`file:///<folder>/artifacts`) names."""
    parsed = urlparse(location)
    if parsed.scheme != "file":
        return None
    path = Path(unquote(parsed.path))
    return path.parent if path.name == ARTIFACTS else None


def recorded_folders(db: sqlite3.Connection) -> set[Path]:
    """The store folders the experiments' artefact locations name (the product's layout only)."""
    rows = db.execute("SELECT artifact_location FROM experiments").fetchall()
    return {folder for (location,) in rows if location and (folder := _folder_of(location)) is not None}


def moved_from(store: Path) -> Path | None:
    """The folder the store at `store` (its `mlflow.db`) names for its artefacts when that is not the store's own
    folder (moved or copied), else None. Read only."""
    here = store.parent.resolve()
    with contextlib.suppress(sqlite3.Error), contextlib.closing(_connect(store, read_only=True)) as db:
        others = sorted(f for f in recorded_folders(db) if f.resolve(strict=False) != here)
        return others[0] if others else None
    return None


#: Seconds to wait for a store another process holds locked (a training logging its run): the look is skipped
#: then (the next command makes it), and the command's own use of the store says what is wrong. Was 30: every
#: command on a locked store waited that long before the lock's message.
LOCK_WAIT_S = 0.5


def _connect(store: Path, read_only: bool = False) -> sqlite3.Connection:
    uri = store.resolve().as_uri() + ("?mode=ro" if read_only else "")
    return sqlite3.connect(uri, uri=True, timeout=LOCK_WAIT_S)


def _schema_is_current(store: Path) -> bool:
    """Whether the store's schema is the installed MLflow's (`pipelines.store_errors.schema_heads`; True when
    either is unknown): a store of another MLflow is not rewritten before MLflow's own schema check stops the
    command (round 32, review: its paths were rewritten first)."""
    from pipelines.store_errors import schema_heads

    heads = schema_heads()
    try:
        with contextlib.closing(_connect(store, read_only=True)) as db:
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:  # no such table, locked, damaged: the store's own errors say so later
        return True
    return not heads or row is None or row[0] in heads


def _brought_along(store: Path, old: Path, here: Path) -> bool:
    """Whether the store's own folder holds the files its runs and models recorded under `old` (one of them is
    enough; a store without any has nothing to lose)."""
    if not (here / ARTIFACTS).is_dir():
        return False
    prefix = (old / ARTIFACTS).as_uri() + "/"
    found: list[str] = []
    with contextlib.closing(_connect(store, read_only=True)) as db:
        for table, column in LOCATION_COLUMNS[1:4]:
            with contextlib.suppress(sqlite3.OperationalError):  # a table this MLflow lacks
                rows = db.execute(f'SELECT "{column}" FROM "{table}"').fetchall()
                found += [unquote(v[len(prefix) :]) for (v,) in rows if v and v.startswith(prefix)]
    return not found or any((here / ARTIFACTS / rest).exists() for rest in found)


def say_if_moved(store: Path) -> None:
    """`follow_move`, its note on stderr (every command opening a local store: the batch job's log keeps it)."""
    note = follow_move(store)
    if note:
        from rich.console import Console
        from rich.markup import escape

        Console(stderr=True).print(f"[yellow]note:[/] {escape(note)}", highlight=False)


def follow_move(store: Path) -> str | None:
    """Point the artefact paths of the store at `store` to its own folder when they name another one and the
    store's `artifacts` folder is there; a note saying so, or saying why not (None when nothing was moved)."""
    old = moved_from(store)
    # another MLflow's store: its schema stop says so, the store untouched
    if old is None or not _schema_is_current(store):
        return None
    here = store.parent.resolve()
    try:
        brought = _brought_along(store, old, here)
    except sqlite3.Error:  # locked meanwhile: the next command looks again
        return None
    if not brought:
        return (
            f"the tracking store {store} names its models' files under {old / ARTIFACTS}, not beside it: moved or "
            f"copied without its `{ARTIFACTS}` folder? Its models are read from there while that folder exists"
        )
    before, after = (old / ARTIFACTS).as_uri(), (here / ARTIFACTS).as_uri()
    try:
        with contextlib.closing(_connect(store)) as db, db:
            for table, column in LOCATION_COLUMNS:
                with contextlib.suppress(sqlite3.OperationalError):  # a table or column this MLflow lacks
                    db.execute(
                        f'UPDATE "{table}" SET "{column}" = ? || substr("{column}", ?) '
                        f'WHERE "{column}" = ? OR substr("{column}", 1, ?) = ?',
                        (after, len(before) + 1, before, len(before) + 1, before + "/"),
                    )
    except sqlite3.Error as exc:  # read-only, locked: the paths stay, said
        return (
            f"the tracking store {store} was moved or copied from {old}: its models' files are still read from "
            f"there ({exc}); make the store writable once and any `cvp` command points them here"
        )
    return (
        f"the tracking store {store} was moved or copied from {old}: its models' file paths now point to "
        f"{here / ARTIFACTS}"
    )
