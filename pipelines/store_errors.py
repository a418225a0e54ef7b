"""The local MLflow store failing under a command: locked by another process, or read-only.

MLflow's sqlite store (`mlruns/mlflow.db`) takes one writer at a time; a training logging its run, an `mlflow ui`
migrating the schema or a copy of the store in progress holds the lock, and a store on a read-only mount (a batch
host given the data scientists' share) refuses every write. SQLite says so (`database is locked`, `attempt to
write a readonly database`), wrapped by SQLAlchemy and sometimes by MLflow. The commands met it as exit 1
`unexpected OperationalError` (`cvp models`, `cvp report`, `cvp train`) or as exit 2 "model ... could not be loaded
(corrupt or incompatible)" (`cvp score`): an operator told to restore a model that was whole. `store_failure` names
the cause and the way out (exit 2); `pipelines.cli` applies it to every command, `pipelines.tracking.load_bundle`
before its "corrupt" verdict. `check_writable` asks the local store for a write before `cvp train` fits (minutes at
scale), so a locked or read-only store stops it with the same message before the fit, not at its logging step.
`check_artifacts_writable` asks the experiment's local artefact folder for a file likewise.
Light: no MLflow import.
"""

from __future__ import annotations

from pathlib import Path

from features.validation import StructuralError

#: SQLite's words for each cause (its `OperationalError` text), and what to do.
_CAUSES = {
    "database is locked": (
        "is locked by another process (a training logging its run, `mlflow ui`, a copy of the store in progress?)",
        "Rerun once it is done; for several writers at once, use a tracking server (--tracking-uri)",
    ),
    "readonly database": (
        "is read-only here (a read-only mount or file)",
        "Give a writable tracking directory (`mlflow.tracking_dir` in --config) or a tracking server "
        "(--tracking-uri)",
    ),
    # a damaged store: a copy cut short, a disk that filled or a machine that stopped while it was written, or
    # another file under its name (was: `cvp models`/`cvp report` exit 1 `unexpected DatabaseError`; `cvp score`
    # exit 2 "model ... could not be loaded (corrupt or incompatible)", for a model whose files were whole)
    "database disk image is malformed": (
        "is damaged (SQLite: database disk image is malformed: a copy cut short, a disk that filled or a machine "
        "that stopped while it was written?)",
        "Restore it from a backup, or recover what it holds: copy it aside (`cp {store} {store}.damaged`), then "
        "`sqlite3 {store}.damaged .recover | sqlite3 {recovered}` and move that into place (`mv {recovered} "
        "{store}`)",
    ),
    # SQLite's own full disk (was: exit 1 `unexpected OperationalError`; `cli_errors.disk_full` sees OSError only)
    "database or disk is full": (
        "could not be written: its disk is full (SQLite: database or disk is full)",
        "Free space on that disk (or give a tracking directory on another: `mlflow.tracking_dir` in --config), "
        "then rerun",
    ),
    "file is not a database": (
        "is not an SQLite database (SQLite: file is not a database: another file under its name, or encrypted?)",
        "Restore the store's file, or give the right one (`mlflow.tracking_dir` in --config, --tracking-uri)",
    ),
}


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and the exceptions it was raised from or during, each once."""
    seen: list[BaseException] = []
    at: BaseException | None = exc
    while at is not None and all(at is not s for s in seen):
        seen.append(at)
        at = at.__cause__ or at.__context__
    return seen


def store_failure(exc: BaseException) -> StructuralError | None:
    """The MLflow store locked, read-only, damaged or on a full disk under `exc` (SQLite's `OperationalError`, as raised or wrapped) as a
    structural error naming the store and the way out; None for any other error."""
    for e in _chain(exc):
        if type(e).__name__ not in ("OperationalError", "DatabaseError", "MlflowException"):
            continue
        text = str(e)
        # another MLflow's store (round 32, was: exit 1 "unexpected")
        if "out-of-date database schema" in text:
            return StructuralError(schema_advice(text, _store()))
        for words, (why, way_out) in _CAUSES.items():
            if words in text:
                store = _store()
                return StructuralError(
                    f"the MLflow tracking store {store} {why}. {_with_paths(way_out, store)}."
                )
    return None


def schema_advice(text: str, store: str) -> str:
    """What to do with a store whose schema is not this MLflow's (its words `text`: `found version X, but expected
    Y`): written by an older MLflow (X among this MLflow's migrations: `pip install -U mlflow` since it was written),
    upgrade it in place after a backup; else by a newer one (a store shared with another machine), whose version
    this installation must have (an older MLflow never migrates a store down)."""
    import re
    import shlex

    found, expected = (re.search(rf"{w} (\w+)", text) for w in ("found version", "expected"))
    known = set(migrations())
    said = (
        f"the MLflow tracking store {store} was written by another MLflow than this installation's (its schema "
        f"{found.group(1) if found else '?'}, this MLflow's {expected.group(1) if expected else '?'})"
    )
    if found is not None and found.group(1) in known:
        file = _with_paths("{store}", store)
        return (
            f"{said}: an older one. Back it up (`cp {file} {file}.bak`), then upgrade it: `mlflow db upgrade "
            f"{shlex.quote(store)}` (every reader of the store then needs this MLflow or a later one)"
        )
    return (
        f"{said}: a newer one, whose schema this MLflow does not know. Install the MLflow that wrote it (`pip "
        "install -U mlflow`, the version of the machine that trains), or give this installation a store of its own "
        "(`mlflow.tracking_dir` in --config, --tracking-uri)"
    )


def migrations() -> dict[str, str | None]:
    """The installed MLflow's store schemas: {revision: the revision it upgrades}, read from its migration files
    (no MLflow import); empty when they cannot be found."""
    import re
    from importlib.util import find_spec

    spec = find_spec("mlflow")
    out: dict[str, str | None] = {}
    for root in list(spec.submodule_search_locations or []) if spec else []:
        for path in Path(root, "store", "db_migrations", "versions").glob("*.py"):
            text = path.read_text(errors="replace")
            rev, down = (
                re.search(rf"^{w} = ['\"](\w+)['\"]", text, re.M) for w in ("revision", "down_revision")
            )
            if rev:
                out[rev.group(1)] = down.group(1) if down else None
    return out


def schema_heads() -> set[str]:
    """The installed MLflow's latest store schema (the revision none upgrades), one normally; empty if unknown."""
    known = migrations()
    return set(known) - set(known.values())


def _with_paths(advice: str, store: str) -> str:
    """`advice` with `{store}` (the store's file, quoted for a shell) and `{recovered}` (a file beside it) filled
    in; `mlflow.db` when the store is not a local file (was: `sqlite3 mlflow.db .recover`, whatever the store's
    path, and .recover only prints SQL)."""
    import shlex
    from pathlib import Path

    from features.errors import sqlite_file

    path = sqlite_file(store) or Path("mlflow.db")
    return advice.format(
        store=shlex.quote(str(path)), recovered=shlex.quote(str(path.parent / "recovered.db"))
    )


def _store() -> str:
    """The local store's URI (`sqlite:///...`: no password in it); a server's is not shown here."""
    try:
        from pipelines.mlflow_import import mlflow

        uri = str(mlflow.get_tracking_uri())
    except Exception:  # the message must not fail for want of the URI
        return "in use"
    return uri if uri.startswith("sqlite:") else "in use"


#: How long `check_writable` waits for another writer to finish: MLflow's own writes wait as long (`busy_timeout`).
WRITE_WAIT_S = 20.0


def check_writable(uri: str) -> None:
    """Raise `store_failure`'s error when the local sqlite store `uri` cannot take a write now: locked by another
    writer for longer than `WRITE_WAIT_S`, or read-only. The write (a table created in a transaction) is rolled
    back: nothing is left in the store. A tracking server or another database is not asked (its refusals are its
    own), nor is a failure this probe cannot name (the real write will meet it and say so)."""
    if not uri.startswith("sqlite:"):
        return
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    engine = sqlalchemy.create_engine(uri, poolclass=NullPool)  # MLflow's connection, from the same URI
    try:
        raw = engine.raw_connection()
        try:
            db = raw.driver_connection
            db.isolation_level = None  # the transaction is ours: BEGIN IMMEDIATE takes the writer's lock
            db.execute(f"PRAGMA busy_timeout = {int(WRITE_WAIT_S * 1000)}")
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("CREATE TABLE cvp_write_check (x)")  # a read-only store refuses it here
            finally:
                if db.in_transaction:
                    db.execute("ROLLBACK")
        finally:
            raw.close()
    except Exception as exc:
        known = store_failure(exc)
        if known is not None:
            raise known from exc
    finally:
        engine.dispose()


def check_artifacts_writable(location: str) -> None:
    """Raise a structural error when the experiment's local artefact folder (`location`, a `file:` URI or a path)
    cannot take a file now: a file in its way, read-only, another user's, a full disk. The probe file is removed.
    `cvp train` asks before the fit, beside `check_writable` (was: the database took the run while the folder
    refused its first file, exit 1 after the fit with the run FAILED). Artefacts kept by a server or an object
    store (`mlflow-artifacts:`, `s3://`, `dbfs:/`, ...) are not asked."""
    import os
    import tempfile
    from pathlib import Path
    from urllib.parse import unquote, urlsplit

    scheme = location.split(":", 1)[0] if ":" in location else ""
    if scheme == "file":
        folder = Path(unquote(urlsplit(location).path))
    elif len(scheme) > 1:  # `mlflow-artifacts:`, `s3://`, `dbfs:/`, ... (one letter: a Windows drive)
        return
    else:
        folder = Path(location)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".cvp-write-check-", dir=folder)
        try:
            os.write(handle, b"x")
        finally:
            os.close(handle)
            os.unlink(probe)
    except OSError as exc:
        why = "a file is in its way" if folder.exists() and not folder.is_dir() else exc.strerror or str(exc)
        raise StructuralError(
            f"the MLflow artefact folder {folder} cannot be written ({why}): the run's files and the "
            "model would not be saved. Free space or give a writable `mlflow.tracking_dir` (--config), or a "
            "tracking server (--tracking-uri); nothing was logged"
        ) from exc
