"""The error line of an unexpected error in a `cvp` command: whether its message may quote the data, where it
happened (command, table, column, code line: never a value) and the log file holding its traceback. Used by
`pipelines.cli._friendly`; light (no heavy import at start-up). Also the masking of
a URI's password in whatever a command writes besides its errors (`mask_passwords`)."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import Any

from features.errors import executor_place, printable, product_frame, sqlite_file, without_passwords

#: Where an unexpected error's message may quote a cell of the data (pandas' `could not convert string to float:
#: 'ann@example.com'`, Arrow's `Failed to parse string: 'Ann Smith'`, a `KeyError: 'C0042'`): the builtin types and
#: the data libraries. Such a message goes to the log file only. The others (a tracking server's HTTP error, a file
#: system's `OSError` naming a path) are shown, their passwords masked.
_DATA_MODULES = ("builtins", "pandas", "numpy", "pyarrow", "pyspark", "py4j", "lightgbm", "sklearn", "scipy")
_DATA_NOTE = "it may quote values of your data (names, e-mail addresses): share it only where the data may go"


def _may_quote_data(exc: BaseException) -> bool:
    """Whether `exc`'s message may hold a value of the data (`_DATA_MODULES`); an `OSError` names a path."""
    root = type(exc).__module__.split(".")[0]
    return root in _DATA_MODULES and not (root == "builtins" and isinstance(exc, OSError))


def _where(command: str, exc: BaseException) -> str:
    """`in cvp validate, table 'orders', column 'revenue', at features/numbers.py:123 (parse_numbers)`: the
    command, the table and column the product was working on (`features.errors.working_on`) and the innermost
    line of the product's own code: the place, never a value. A Spark executor's error (a `PythonException`, a
    `Py4JJavaError`) names the executor's place (`features.errors.for_the_driver`): `in cvp validate, table
    'orders', column 'revenue', a ValueError on a Spark executor at features/numbers.py:123 (parse_numbers), at
    pipelines/engines/spark_input.py:...` (was: the driver's line only)."""
    parts = [f"in cvp {command}"]
    parts += [f"{k} {v!r}" for k, v in getattr(exc, "cvp_where", {}).items()]
    if type(exc).__module__.split(".")[0] in ("pyspark", "py4j"):
        remote = executor_place(str(exc))
        parts += [f"{k} {remote[k]!r}" for k in ("table", "column") if k in remote]
        if "type" in remote:
            at = remote.get("at", "").split(":")
            where = f" at {at[0]}:{at[1]} ({at[2]})" if len(at) == 3 else ""
            parts.append(f"a {remote['type']} on a Spark executor{where}")
    here = product_frame(exc.__traceback__)
    if here is not None:
        parts.append(f"at {here}")
    return ", ".join(parts)


def typed_name(function: str) -> str:
    """The command as the user types it, from its function's name: `history_` -> `history`, `models_promote` ->
    `models promote` (was: `cvp history_`, `cvp models_promote` in the messages)."""
    return function.rstrip("_").replace("_", " ")


def _private_folder(folder: Path) -> Path:
    """`folder` (`<temp dir>/cvp`) when it is the user's own directory (not a link), set readable by the user
    only (0700); else (another user's, a symbolic link, a regular file in its place: the shared temporary
    directory lets anyone make it first) or on any error, a new private folder `<temp dir>/cvp-<random>`. Was:
    the log written into whatever `<temp dir>/cvp` was, through a link planted at its name (another user read
    the traceback, which may quote the data); then no log at all when a file stood at that name, and a new
    folder per error when the user's own folder was 0755."""
    import stat
    import tempfile

    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = folder.lstat()
        uid = getattr(os, "getuid", None)  # None on Windows: its temporary directory is the user's own
        if stat.S_ISDIR(st.st_mode) and (uid is None or st.st_uid == uid()):
            if st.st_mode & 0o077:
                folder.chmod(0o700)
            return folder
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="cvp-", dir=folder.parent))


def _write_private(folder: Path, name: str, text: str) -> Path:
    """`text` in a new file `folder/name` readable by the user only: never through a link (O_NOFOLLOW) nor into
    a file already there (O_EXCL: one planted while the folder was open to others)."""
    path = folder / name
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with open(os.open(path, flags, 0o600), "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def _error_log(exc: BaseException) -> Path | None:
    """Write the traceback of an unexpected error to `<temp dir>/cvp/error-<time>-<pid>.log`, readable by the
    user only (it may quote the data: `_DATA_NOTE`); its path, or None."""
    import tempfile
    import time
    import traceback

    name = f"error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    text = f"cvp {' '.join(sys.argv[1:])}\n# this traceback: {_DATA_NOTE}\n\n"
    # a password in a URI (`--tracking-uri https://ann:secret@host`) is not written into the log
    text = without_passwords(text + "".join(traceback.format_exception(exc)))
    try:
        folder = _private_folder(Path(tempfile.gettempdir()) / "cvp")
        try:
            return _write_private(folder, name, text)
        except OSError:  # a name taken (a link or a file planted there): a new private folder
            return _write_private(Path(tempfile.mkdtemp(prefix="cvp-", dir=folder.parent)), name, text)
    except OSError:
        return None


#: A write refused for want of space: the disk (or the tmpfs) full, or the user's quota reached.
_FULL_DISK = (errno.ENOSPC, errno.EDQUOT)
#: The flags of a command that name where it writes: the places whose free space the message of a full disk shows.
_OUTPUT_FLAGS = ("out", "rejects", "history")


#: Commands that publish step by step (`cvp demo`: the company, the model, the scores, the pages; `cvp train`: the
#: MLflow run, then the model's registration): a full disk at a late step leaves the earlier steps' outputs.
_STEPWISE = ("demo", "train")


def _tracking_folder() -> Path | None:
    """The folder of the local MLflow store in use (`sqlite:///.../mlflow.db`), when MLflow is loaded; else None."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return None
    try:
        uri = str(mlflow.get_tracking_uri())
    except Exception:  # the message must not fail for want of the URI
        return None
    store = sqlite_file(uri)
    return store.parent if store is not None else None


def disk_full(command: str, flags: dict[str, object], exc: BaseException) -> str | None:
    """The message of a write refused for want of space under `exc` (`OSError` ENOSPC or EDQUOT, as raised by
    Python, pandas or Arrow's writers, or raised while handling another error): the command, the free space of
    the place of the file refused (the error's own filename, when it names one: a joblib file in /dev/shm, the
    MLflow store), of each place it writes (`flags`' `--out`, `--rejects`, `--history`; `cvp train`'s tracking
    folder) and of the temporary directory, and the way out. None for any other error. Was: exit 1 `unexpected
    OSError: [Errno 28] Error writing bytes to file` with a traceback log (`cvp score` onto a full disk, at
    `contributions_writer.py:72 (close)`)."""
    import shutil
    import tempfile

    from pipelines.store_errors import _chain

    full = next((e for e in _chain(exc) if isinstance(e, OSError) and e.errno in _FULL_DISK), None)
    if full is None:
        return None
    places = [("the file refused", Path(str(full.filename)))] if full.filename else []
    places += [(f"--{name}", Path(str(flags[name]))) for name in _OUTPUT_FLAGS if flags.get(name) is not None]
    tracking = _tracking_folder() if command in _STEPWISE else None
    if tracking is not None:
        places.append(("the MLflow tracking folder", tracking))
    places.append(("the temporary directory", Path(tempfile.gettempdir())))
    shown = []
    for label, path in places:
        at = path.absolute()
        while not at.exists() and at != at.parent:  # the nearest folder that is there: the disk it goes to
            at = at.parent
        try:
            free = shutil.disk_usage(at).free
        except OSError:
            continue
        shown.append(f"{label} {printable(str(path))} ({free / 2**20:,.1f} MB free now)")
    cause = "the disk quota is reached" if full.errno == errno.EDQUOT else "a disk is full"
    published = next((e.cvp_published for e in _chain(exc) if hasattr(e, "cvp_published")), None)
    if published is not None:
        done = (
            f"The scores were published ({printable(str(published))}) but the run was not added to the score "
            "history, whose earlier runs stay as they were: rerun the same command"
        )
    elif (
        command in _STEPWISE
    ):  # was: "Nothing of this run was published", the demo's company and model replaced
        done = (
            "The step that was writing published nothing; the steps this command finished before it (printed "
            "above; for cvp train, its MLflow run) stay as they are. Rerun"
        )
    else:
        done = "Nothing of this run was published: the previous outputs stay as they were. Rerun"
    return (
        f"cvp {command} stopped: {cause} ({os.strerror(full.errno)}); where it writes: {'; '.join(shown)}. "
        f"{done} once there is space (free some there, or give an output on another disk, TMPDIR for the "
        "temporary directory)"
    )


_MASKED_LOGS = {"on": False}


def mask_passwords() -> None:
    """Warnings, log lines (MLflow's, urllib3's) and the traceback `--verbose` shows are written with a URI's
    password as `***`, as errors are (`features.errors.without_passwords`; was: as given, e.g. an artefact request's
    URL with the tracking URI's user info)."""
    import logging
    import warnings

    if not getattr(sys.excepthook, "cvp_masked", False):

        def hook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
            import traceback

            sys.stderr.write(without_passwords("".join(traceback.format_exception(kind, exc, tb))))

        hook.cvp_masked = True  # type: ignore[attr-defined]
        sys.excepthook = hook

    if not getattr(warnings.showwarning, "cvp_masked", False):
        shown = warnings.showwarning

        def show(
            message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None
        ) -> None:
            shown(without_passwords(str(message)), category, filename, lineno, file, line)

        show.cvp_masked = True  # type: ignore[attr-defined]
        warnings.showwarning = show
    if _MASKED_LOGS["on"]:
        return
    _MASKED_LOGS["on"] = True
    make = logging.getLogRecordFactory()

    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        rec = make(*args, **kwargs)
        try:
            text = rec.getMessage()
        except Exception:  # a malformed call: logging reports it as it would have
            return rec
        if (masked := without_passwords(text)) != text:
            rec.msg, rec.args = masked, None
        return rec

    logging.setLogRecordFactory(record)
