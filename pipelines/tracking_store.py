"""MLflow's tracking store: which one (`--tracking-uri`, `MLFLOW_TRACKING_URI`, the local sqlite store), its
checks (a URI MLflow 3 cannot use, a local store not there, a server not answering), MLflow pointed at it, and the
experiment's artefact location.

MLflow 3 no longer defaults to `./mlruns`, so the store is set explicitly: `sqlite:///<mlruns>/mlflow.db` for runs
and the registry, artefacts under `<mlruns>/artifacts`. Nothing here runs at import. Loading a model is
`pipelines.tracking`'s.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from features.errors import sqlite_file, without_passwords
from features.validation import StructuralError


def resolve_tracking_uri(tracking_dir: Path, uri: str | None = None) -> str:
    """The tracking URI of a run: `--tracking-uri`, else `MLFLOW_TRACKING_URI`, else the local sqlite store."""
    chosen = uri or os.environ.get("MLFLOW_TRACKING_URI")
    if chosen:
        return chosen
    return f"sqlite:///{Path(tracking_dir).resolve() / 'mlflow.db'}"


class MissingStore(StructuralError):
    """A command that only reads the registry was pointed at a local store that is not there."""


def configure_tracking(tracking_dir: Path, uri: str | None = None, *, reading: bool = False) -> str:
    """Point MLflow at the tracking store (see `resolve_tracking_uri`); return the tracking URI.

    A shared tracking server (http://...) keeps runs, the registry and (with --serve-artifacts) artefacts;
    the local default is `sqlite:///<tracking_dir>/mlflow.db` with artefacts under `<tracking_dir>/artifacts`.
    `reading` (`cvp score`, `cvp report`, `cvp models`): a local store that does not exist is a `MissingStore`,
    nothing created (was: a typo'd path got its folders and a new empty store, then "no version"); `cvp train`
    creates it.
    """
    uri = resolve_tracking_uri(tracking_dir, uri)
    check_tracking_uri(uri)
    store = sqlite_file(uri)  # the local store's file (SQLite's `file:` URI form too), None for a server
    if reading and store is not None:
        in_the_way = any(p.exists() and not p.is_dir() for p in store.parents)  # said below: "is a file"
        if not store.is_file() and not in_the_way:
            meant = Path(tracking_dir).resolve() / "mlflow.db"  # the config's store, when another was given
            hint = f" (did you mean the configured one, {meant}?)" if meant.is_file() else ""
            raise MissingStore(
                f"there is no tracking store at {store.resolve()} (mlflow.tracking_dir, --tracking-uri or "
                f"MLFLOW_TRACKING_URI): nothing was created there{hint}. Check the path for a typo, or train a "
                "model first: `cvp train` creates the store"
            )
    if uri.startswith(("http://", "https://")):
        _check_server_answers(uri)
        for name, value in SERVER_RETRIES.items():  # the user's own settings are kept
            os.environ.setdefault(name, value)
    if store is not None:
        folder = store.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file in the way, a read-only place
            from features.errors import StructuralError

            what = "is a file, not a directory" if folder.is_file() else f"cannot be created ({exc.strerror})"
            raise StructuralError(
                f"the MLflow tracking directory {folder} (mlflow.tracking_dir, or the --tracking-uri / "
                f"MLFLOW_TRACKING_URI sqlite path) {what}: give a directory for the local tracking store"
            ) from exc
        if store.is_file():  # a store moved or copied: its artefact paths follow it (`store_moved`)
            from pipelines.store_moved import say_if_moved

            say_if_moved(store)
    from pipelines.mlflow_import import mlflow

    user_env = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    # MLflow also writes the URIs into MLFLOW_TRACKING_URI and MLFLOW_REGISTRY_URI; put back what the user had,
    # so the variables keep meaning "the user's choice" for the next job in this process and for child processes
    # (was: MLFLOW_REGISTRY_URI left behind, so a later process sent its registry calls to a server long gone).
    for name, value in user_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    # MLflow's chatter (alembic migrations, "Validating input example") is noise; its store logs the errors we report
    for name, level in (("alembic", "ERROR"), ("mlflow", "ERROR"), ("mlflow.store.db.utils", "CRITICAL")):
        logging.getLogger(name).setLevel(level)  # (the last with their traceback, before raising them)
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    # Progress bars for every artefact download ("Downloading artifacts") are noise in batch and demo output.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    return uri


def check_tracking_uri(uri: str) -> None:
    """A tracking URI MLflow 3 cannot use as given is an exit 2 saying what to write: a directory path or `file:`
    URI (MLflow's file store: "Train one first" at scoring, an unexpected MlflowException at training), the path of
    a sqlite file without its scheme (`/srv/mlruns/mlflow.db`), a `sqlite:` URI without a file (`sqlite:///`,
    `sqlite://x.db`)."""
    scheme, sep, rest = uri.partition(":")
    if uri in ("databricks", "databricks-uc"):  # MLflow's names for a Databricks workspace
        return
    if not sep or len(scheme) == 1 or scheme == "file":  # `mlruns`, `C:\\mlruns`, `file:///srv/mlruns`
        folder = uri.removeprefix("file://").removeprefix("file:")
        given = Path(
            folder
        )  # a directory named `store.db` is a directory (was: "give sqlite:////.../store.db")
        if given.is_file() or (not given.is_dir() and given.suffix.lower() in (".db", ".sqlite", ".sqlite3")):
            raise StructuralError(  # was: "names a directory", and `sqlite:///.../mlflow.db/mlflow.db` to give
                f"the tracking URI {uri!r} (--tracking-uri or MLFLOW_TRACKING_URI) names the file of a sqlite store "
                f"without its scheme: give `sqlite:///{Path(folder).resolve()}`"
            )
        raise StructuralError(
            f"the tracking URI {uri!r} (--tracking-uri or MLFLOW_TRACKING_URI) names a directory: MLflow's file "
            f"store is not used. Give `sqlite:///{Path(folder).resolve() / 'mlflow.db'}` (this product's local "
            "store, artefacts beside it), set `mlflow.tracking_dir` in a --config, or a server's http(s):// URL"
        )
    if scheme == "sqlite" and (not rest.startswith("///") or not rest.removeprefix("///").strip()):
        raise StructuralError(
            f"the tracking URI {uri!r} names no sqlite file: write `sqlite:///relative/path/mlflow.db` or "
            "`sqlite:////absolute/path/mlflow.db`"
        )


#: MLflow's client retries of a request to a tracking server, set when the user has not set them: 3 retries,
#: backoff factor 1 (urllib3 waits 0, 2, 4 s, plus up to 1 s of jitter each), 60 s per request. Was MLflow 3's
#: defaults, 7 retries with factor 2 (up to 2 minutes between the last ones) and 120 s: a server answering 5xx to
#: every request kept a job waiting more than 5 minutes before it failed.
SERVER_RETRIES = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
}

#: Seconds a tracking server has to accept a connection before the job stops (MLflow's own client would retry a
#: refused connection for minutes, 4 min 22 s measured, before failing).
SERVER_CONNECT_SECONDS = 10


def shown_uri(uri: str) -> str:
    """`uri` as messages, manifests and pages show it: the password of a user info (`https://ann:secret@host`,
    which MLflow's client sends as basic auth) replaced by `***` (was: printed, written into every scores manifest
    and, when the model's run was not found, onto the team page). The rule is `features.errors.without_passwords`."""
    return without_passwords(uri)


def browse_hint(uri: str) -> str:
    """How to look at the runs and the registry of the tracking store `uri`: `mlflow ui --backend-store-uri ...`
    for a local store, the server's address (password hidden) for a tracking server."""
    if uri.startswith(("http://", "https://")):
        return f"open {shown_uri(uri)}"
    return f"mlflow ui --backend-store-uri {shown_uri(uri)}"


_FAILED_REQUEST = re.compile(
    r"^API request to (?P<url>https?://\S+?) failed with (?:timeout )?exception (?P<why>.*)", re.S
)


def server_failure(exc: BaseException) -> StructuralError | None:
    """An MLflow request to a tracking server that failed after its retries (`SERVER_RETRIES`: a server answering
    5xx, or silent, in the middle of a run) as a structural error naming the server (was: exit 1 `unexpected
    MlflowException`); None for any other error."""
    if type(exc).__name__ != "MlflowException":
        return None
    m = _FAILED_REQUEST.match(str(exc))
    if m is None:
        return None
    import urllib.parse

    parts = urllib.parse.urlsplit(m["url"])
    server = shown_uri(urllib.parse.urlunsplit(parts._replace(path="", query="", fragment="")))
    why = "it answered with server errors" if "error responses" in m["why"] else "it did not answer in time"
    return StructuralError(
        f"the MLflow tracking server {server} failed during the run ({why}, after "
        f"{os.environ.get('MLFLOW_HTTP_REQUEST_MAX_RETRIES', '?')} retries of {parts.path}). Check the server (or "
        "the proxy in front of it) and rerun."
    )


def _check_server_answers(uri: str) -> None:
    """One request to the server's `/health`: any HTTP answer (even 401 or 404) means it is there; a refused,
    unresolvable or silent address stops the job at once with the address (not after MLflow's retries). A user
    info in the URI is left out of that request (was: taken for the host name, so a server given with one was
    reported as not answering)."""
    import urllib.error
    import urllib.parse
    import urllib.request

    parts = urllib.parse.urlsplit(uri)
    bare = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]))
    try:
        with urllib.request.urlopen(f"{bare.rstrip('/')}/health", timeout=SERVER_CONNECT_SECONDS):
            return
    except urllib.error.HTTPError as exc:
        if exc.code < 500:
            return  # it answered
        raise StructuralError(  # was: taken for an answer, then MLflow retried every request for minutes
            f"the MLflow tracking server {shown_uri(uri)} answers with a server error (HTTP {exc.code} on "
            "/health). Check the server (or the proxy in front of it), or give another --tracking-uri / "
            "MLFLOW_TRACKING_URI."
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise StructuralError(
            f"the MLflow tracking server {shown_uri(uri)} does not answer ({reason}). Start it, or give the right "
            "--tracking-uri / MLFLOW_TRACKING_URI."
        ) from exc


def ensure_experiment(name: str, tracking_dir: Path) -> str:
    """The experiment's id, created if needed: artefacts in `artifacts` beside the local store MLflow points at
    (`sqlite:////srv/x.db`: `/srv/artifacts`; was the config's `mlruns/artifacts` of the folder the command ran in,
    then noted on every command as a store "moved or copied"); a server decides its own."""
    from pipelines.mlflow_import import mlflow

    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    uri = mlflow.get_tracking_uri()
    if not uri.startswith("sqlite:///"):
        return mlflow.create_experiment(name)
    store = sqlite_file(uri)
    folder = store.resolve().parent if store is not None else Path(tracking_dir).resolve()
    return mlflow.create_experiment(name, artifact_location=(folder / "artifacts").as_uri())


def artifact_location(experiment_id: str) -> str:
    """Where the experiment's runs keep their files (a `file:` URI beside a local store; a server's own)."""
    from pipelines.mlflow_import import mlflow

    return str(mlflow.get_experiment(experiment_id).artifact_location)
