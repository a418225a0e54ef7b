"""The known-problem exception of the product, importable without pandas (the CLI catches it before parsing data)."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

#: Characters a terminal acts on instead of showing: C0 controls but tab and newline (ESC starts colour, title and
#: clipboard sequences, CR rewrites the line, BEL rings), DEL, C1 controls (CSI), and bidi embeddings, overrides
#: and isolates (they reorder what follows). Data values and column names reach messages as written.
_UNSHOWABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


#: The password of a URI's user info (`https://ann:secret@host`, MLflow's client sends it as basic auth): it ends up
#: in the text of errors (an artefact request's `401 ... for url: https://ann:secret@host/api/...`). Also after a
#: single slash (`s3a:/KEY:SECRET@bucket`: a URI given as a path, whose `//` the path collapsed) and holding `/`,
#: `+` or `@` (an S3 secret key is not URL-encoded when written by hand): up to the last `@` of the word.
_URI_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*:/{1,3}[^/@\s:'\"<>]*:)[^\s'\"<>]+@")
#: A credential in a query string or a connection string: `?token=`, `&access_token=`, `?password=`, `?sig=`,
#: `X-Amz-Signature=`, `X-Amz-Security-Token=`, `?key=`, `;AccountKey=` (any case): a name ending in one of these.
_QUERY_SECRET = re.compile(
    r"(?i)([?&;][\w.-]*(?:token|secret|passw(?:or)?d|pwd|signature|sig|credential|key|auth)=)[^&;#\s'\"<>]+"
)
#: An HTTP authorization header's credentials (`Authorization: Bearer <token>`, `Basic <base64>`).
_AUTH_HEADER = re.compile(
    r"(?i)(\bauthorization['\"]?\s*[:=]\s*['\"]?(?:bearer|basic|token)\s+|\bbearer\s+)[^\s'\",}]+"
)
#: Environment variables whose values are secrets (MLflow's token and basic-auth password, the S3 secret and session
#: keys): wherever a value of 4 characters or more appears in a text it is written `***` (shorter ones would mask
#: ordinary words).
SECRET_ENVIRONMENT = (
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)


def without_passwords(text: str) -> str:
    """`text` with every secret in it written as `***`: the password of a URI (`https://ann:***@host`,
    `s3a://KEY:***@bucket/`), a credential of a query or connection string (`?token=***`, `X-Amz-Signature=***`),
    an authorization header's credentials, and the value of each `SECRET_ENVIRONMENT` variable. The one rule for
    what messages, logs, manifests and pages show of a tracking URI, a data URI or an error quoting them."""
    import os

    for name in SECRET_ENVIRONMENT:
        value = os.environ.get(name, "")
        if len(value) >= 4 and value in text:
            text = text.replace(value, "***")
    text = _URI_PASSWORD.sub(r"\1***@", text)
    text = _QUERY_SECRET.sub(r"\1***", text)
    return _AUTH_HEADER.sub(r"\1***", text)


def sqlite_file(uri: str) -> "Path | None":
    """The file of a local SQLite tracking store's URI (`sqlite:///x/mlflow.db`, or SQLite's URI form
    `sqlite:///file:/x/mlflow.db?mode=ro&uri=true`); None for another URI (a server's). The one reading of such a
    URI for the store's checks, messages and advice."""
    from pathlib import Path

    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri.removeprefix("sqlite:///").partition("?")[0].removeprefix("file:"))


def printable(text: str) -> str:
    """`text` with every `_UNSHOWABLE` character written as its escape (`\\x1b`, `\\u202e`): what a terminal or a
    batch log shows is what the data holds, never a sequence run by the terminal; and never a URI's password
    (`without_passwords`)."""
    return _UNSHOWABLE.sub(
        lambda m: m.group().encode("unicode_escape").decode("ascii"), without_passwords(text)
    )


class StructuralError(ValueError):
    """The input cannot be used at all: a table or column is missing, a file unreadable, a column unparseable.

    Its message shows data values and column names with their control characters escaped (`printable`)."""

    def __str__(self) -> str:
        return printable(super().__str__())


@contextmanager
def working_on(**where: str) -> Iterator[None]:
    """Tag an unexpected exception raised inside with where the product was (`table='orders'`,
    `column='revenue'`): the CLI names the place, never the exception's message, which may quote a cell (pandas'
    `could not convert string to float: 'ann@example.com'`). An inner tag wins; a `StructuralError` is known and
    left as it is."""
    try:
        yield
    except StructuralError:
        raise
    except Exception as exc:
        try:
            exc.cvp_where = {**where, **getattr(exc, "cvp_where", {})}  # type: ignore[attr-defined]
        except AttributeError:  # an exception type without a __dict__: named without the place
            pass
        raise


def product_frame(tb: Any) -> str | None:
    """`features/numbers.py:123 (parse_numbers)`: the innermost line of the product's own code (`features`,
    `models`, `pipelines`) in the traceback `tb`: a place, never a value; None outside it."""
    import traceback
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for frame in reversed(traceback.extract_tb(tb)):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(root) and path.relative_to(root).parts[0] in (
            "features",
            "models",
            "pipelines",
        ):
            return f"{path.relative_to(root).as_posix()}:{frame.lineno} ({frame.name})"
    return None


#: The first line of `ExecutorError`'s message: Spark brings an executor's error back to the driver as the text of
#: its traceback only (`PythonException`), so where it happened travels as words: `type=ValueError table=orders
#: column=revenue at=features/numbers.py:123:parse_numbers`, each value a name (`_PLACE_VALUE`), never a cell.
EXECUTOR_TAG = "cvp-executor-place:"
_PLACE_VALUE = re.compile(r"[A-Za-z0-9_./:-]{1,200}")
_PLACE_KEYS = ("type", "table", "column", "at")


class ExecutorError(RuntimeError):
    """An unexpected error of a Spark executor, its place in the first line (`EXECUTOR_TAG`), its own message after
    (for the log: it may quote the data)."""


@contextmanager
def for_the_driver(**where: str) -> Iterator[None]:
    """Around the body of a Spark task (`mapInPandas`, `applyInPandas`): an unexpected error raised inside is
    raised again as an `ExecutorError` whose first line names its type, the table and column the product was
    working on (`where`, then the inner `working_on` tags) and the innermost line of the product's code, so the
    CLI's line names them on the driver (`executor_place`) as it does for the pandas engine. A `StructuralError`
    is left as it is (the driver rebuilds it from its message)."""
    try:
        yield
    except StructuralError:
        raise
    except Exception as exc:
        at = (product_frame(exc.__traceback__) or "").replace(" (", ":").rstrip(")")
        place = {"type": type(exc).__name__, **where, **getattr(exc, "cvp_where", {}), "at": at}
        words = " ".join(
            f"{k}={v}" for k, v in place.items() if k in _PLACE_KEYS and _PLACE_VALUE.fullmatch(v)
        )
        raise ExecutorError(f"{EXECUTOR_TAG} {words}\nits message: {exc}") from exc


def executor_place(text: str) -> dict[str, str]:
    """The place `for_the_driver` wrote into an executor's error, read back from the text of a Spark exception on
    the driver (`PythonException`, or a `Py4JJavaError` quoting it): {} when there is none. Read from the last
    traceback of the text only, the first `ExecutorError` line after its header: a value of the data quoted
    further on (its own message, after the tag) cannot pass for the place; each value must be a name."""
    tail = text[text.rfind("Traceback (most recent call last):") :]
    found = re.search(rf"^(?:[\w.]+\.)?ExecutorError: {EXECUTOR_TAG} (.*)$", tail, re.M)
    if found is None:
        return {}
    place = dict(word.partition("=")[::2] for word in found.group(1).split())
    return {k: place[k] for k in _PLACE_KEYS if _PLACE_VALUE.fullmatch(place.get(k, ""))}
