"""Hostile environments found in the twenty-fifth hunt (the output side): a disk that fills while a command writes
its outputs. Cheap: a demo company of 40 customers written by `cvp generate` with its Parquet writer refusing for
want of space, and the contributions writer closed on a full disk; no training, no Spark."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import cvp


def _full_disk(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device")


def test_a_full_disk_stops_with_a_message_not_a_traceback(tmp_path, monkeypatch):
    """`cvp score --out` (any command) onto a disk that fills while it writes: was exit 1 `unexpected OSError:
    [Errno 28] Error writing bytes to file` and a traceback log. Now exit 2 naming the cause, the free space of
    each place the command writes, the temporary directory's, and the way out (`pipelines.cli_errors.disk_full`);
    the staged files are removed, the previous set kept."""
    out = tmp_path / "demo company"
    mask = os.umask(0o077)  # a user who keeps their files to themselves: the demo's tables follow it too
    try:
        first = cvp("generate", "--out", out, "--customers", 40)
    finally:
        os.umask(mask)
    assert first.exit_code == 0, first.output
    # was: 0644 whatever the umask (`pipelines.demo.write` set it), other outputs following the umask
    assert {p.stat().st_mode & 0o777 for p in out.glob("*.parquet")} == {0o600}
    before = {p.name: p.read_bytes() for p in out.glob("*.parquet")}
    monkeypatch.setattr("pyarrow.parquet.write_table", _full_disk)
    res = cvp("generate", "--out", out, "--customers", 40, "--seed", 8)
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "unexpected" not in text and "traceback" not in text
    assert "a disk is full (No space left on device)" in text
    assert f"--out {out} (" in text and "MB free now)" in text and "the temporary directory" in text
    assert {p.name: p.read_bytes() for p in out.glob("*.parquet")} == before  # the previous company, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo company"], "a staged copy left on the disk"


def test_a_writer_whose_close_fails_on_a_full_disk_is_not_closed_twice(tmp_path, monkeypatch):
    """The contributions (and profile-inputs) writer closed on a full disk: Arrow's close writes the file's
    footer and fails. The run's cleanup closes it again before removing its staging directory; was: the second
    close raised the same error, so the staging directory (the failed run's files) stayed on the full disk."""
    from pipelines.outputs import ContributionsWriter

    writer = ContributionsWriter(tmp_path / "c.parquet", "run")
    writer.add(pd.DataFrame({"x": [1.0, 2.0]}, index=pd.Index(["C1", "C2"], name="customer_id")))
    writer._wait()
    arrow = writer._writer
    calls: list[int] = []

    def close_on_full_disk() -> None:
        calls.append(1)
        _full_disk()

    monkeypatch.setattr(arrow, "close", close_on_full_disk)
    with pytest.raises(OSError):
        writer.close()
    writer.close()  # the cleanup's close: nothing left to close
    assert calls == [1]


def test_a_damaged_tracking_store_is_named_not_a_corrupt_model(tmp_path, new_store):
    """The local MLflow store (`mlflow.db`) cut short (a copy interrupted, a disk that filled while it was written)
    or another file under its name. Was: `cvp models` exit 1 `unexpected DatabaseError: (sqlite3.DatabaseError)
    database disk image is malformed` with a traceback log; `cvp score` exit 2 "model ... could not be loaded
    (corrupt or incompatible)" for a model whose files were whole. Now exit 2 naming the store, what SQLite says
    and the way out (`pipelines.store_errors.store_failure`, every command)."""
    from tests.pipelines.conftest import empty_registry

    cut = tmp_path / "cut" / "mlflow.db"
    cut.parent.mkdir()
    whole = new_store.read_bytes()
    cut.write_bytes(whole[: len(whole) // 2])
    other = tmp_path / "other" / "mlflow.db"
    other.parent.mkdir()
    other.write_bytes(bytes(range(256)) * 20)
    (tmp_path / "data").mkdir()
    runs = {
        "cut": cvp("models", "--tracking-uri", f"sqlite:///{cut}"),
        "other": cvp("models", "--tracking-uri", f"sqlite:///{other}"),
        "score": cvp(
            "score",
            "--data",
            tmp_path / "data",
            "--as-of",
            "2024-01-01",
            "--out",
            tmp_path / "s.parquet",
            "--tracking-uri",
            f"sqlite:///{other}",
        ),
    }
    # `cvp models` before the first `cvp train` (a new store): was exit 1 `unexpected MlflowException: Registered
    # Model with name=customer-value not found`; now "no version ... yet" (`pipelines.registry.list_versions`)
    store = empty_registry(new_store, tmp_path / "mlruns")
    runs["new"] = cvp("models", "--tracking-uri", f"sqlite:///{store}")
    assert runs["new"].exit_code == 0, runs["new"].output
    assert (
        "no version of customer-value is registered yet: train one with `cvp train`" in runs.pop("new").output
    )
    said = {name: " ".join(res.output.split()) for name, res in runs.items()}
    assert {name: res.exit_code for name, res in runs.items()} == {"cut": 2, "other": 2, "score": 2}, said
    assert (
        f"the MLflow tracking store sqlite:///{cut} is damaged (SQLite: database disk image is malformed"
        in said["cut"]
    )
    # was: `sqlite3 mlflow.db .recover`, whatever the store's path, and .recover only prints SQL
    assert f"`sqlite3 {cut}.damaged .recover | sqlite3 {cut.parent / 'recovered.db'}`" in said["cut"]
    for name in ("other", "score"):
        assert (
            f"store sqlite:///{other} is not an SQLite database (SQLite: file is not a database" in said[name]
        )
    assert not any("unexpected" in text or "corrupt or incompatible" in text for text in said.values()), said


def test_an_error_log_is_not_written_where_others_can_read_it(tmp_path, monkeypatch):
    """`<temp dir>/cvp` made first by someone else, open to every user (the shared temporary directory lets anyone
    make it), with links planted at the names the next logs take, to a file its maker reads. Was: the traceback,
    which may quote the data, written through the link into that file. Now the log goes to a new private folder
    (`pipelines.cli_errors._private_folder`), readable by the user only, and the planted file stays empty."""
    import os
    import time

    from pipelines.cli_errors import _error_log

    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    shared = tmp_path / "cvp"
    shared.mkdir()
    shared.chmod(0o777)
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("")
    now = time.time()
    for second in range(-1, 5):
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now + second))
        (shared / f"error-{stamp}-{os.getpid()}.log").symlink_to(theirs)
    try:
        raise ValueError("Ann Smith")
    except ValueError as exc:
        log = _error_log(exc)
    assert log is not None and "Ann Smith" in log.read_text()
    assert theirs.read_text() == "", "the traceback was written into another user's file"
    assert log.parent != shared and log.parent.parent == tmp_path
    assert (log.parent.stat().st_mode & 0o777, log.stat().st_mode & 0o777) == (0o700, 0o600)


def test_an_error_log_is_written_whatever_stands_at_its_folder(tmp_path, monkeypatch):
    """`<temp dir>/cvp`: a regular file there (anyone can make one): was no log at all (its mkdir failed); now a
    new private folder. The user's own folder left at 0755 (an older cvp, a umask of 022): was a new folder
    `cvp-<random>` at every error; now the user's folder, set to 0700 (`pipelines.cli_errors._private_folder`)."""
    from pipelines.cli_errors import _error_log

    for place in ("file", "own"):
        root = tmp_path / place
        root.mkdir()
        monkeypatch.setattr("tempfile.gettempdir", lambda root=root: str(root))
        if place == "file":
            (root / "cvp").write_text("planted")
        else:
            (root / "cvp").mkdir(mode=0o755)
            (root / "cvp").chmod(0o755)
        try:
            raise ValueError("Ann Smith")
        except ValueError as exc:
            log = _error_log(exc)
        assert log is not None and "Ann Smith" in log.read_text(), place
        assert log.parent.stat().st_mode & 0o777 == 0o700
        assert (log.parent == root / "cvp") == (place == "own"), log


def test_a_full_disk_under_the_history_says_the_scores_were_published(tmp_path, monkeypatch):
    """`cvp score --history` on a full disk: the scores are published before the run is added to the history,
    so the message must not say that nothing was published (`pipelines.cli.score` marks the history's failure).
    Driven through the command, the append refused for want of space (the scoring itself stubbed: cheap)."""
    from types import SimpleNamespace

    out, history = tmp_path / "s.parquet", tmp_path / "h"
    (tmp_path / "data").mkdir()
    scored = SimpleNamespace(scores=pd.DataFrame(), contributions_path=tmp_path / "c.parquet", manifest={})
    monkeypatch.setattr("pipelines.engines.run.run_score", lambda *_a, **_k: scored)
    monkeypatch.setattr("pipelines.history_append.append_run", _full_disk)
    res = cvp(
        "score", "--data", tmp_path / "data", "--as-of", "2024-01-01", "--out", out, "--history", history
    )
    said = " ".join(res.output.split())
    assert res.exit_code == 2, said
    assert "Nothing of this run was published" not in said
    assert f"The scores were published ({out}) but the run was not added" in said


def test_a_full_disk_message_names_the_refused_file_and_the_command_as_typed(tmp_path, monkeypatch):
    """The message of a full disk (`pipelines.cli_errors.disk_full`). Was: the command's function name (`cvp
    history_`, `cvp models_promote`); the places of --out and the temporary directory only, when the file refused
    was elsewhere (/dev/shm, the MLflow store); "Nothing of this run was published" from `cvp demo` and `cvp
    train`, whose earlier steps were published; SQLite's own full disk exit 1 `unexpected OperationalError`."""
    import sqlite3
    import sys
    from types import SimpleNamespace

    from pipelines.cli_errors import disk_full
    from pipelines.store_errors import store_failure

    refused = tmp_path / "shm" / "joblib-sem"

    def full_there(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(refused))

    monkeypatch.setattr("pipelines.history.run_history", full_there)
    res = cvp("history", "--history", tmp_path / "h")
    said = " ".join(res.output.split())
    assert res.exit_code == 2 and said.startswith("error: cvp history stopped: a disk is full"), said
    assert f"the file refused {refused} (" in said
    store = tmp_path / "mlruns" / "mlflow.db"
    monkeypatch.setitem(sys.modules, "mlflow", SimpleNamespace(get_tracking_uri=lambda: f"sqlite:///{store}"))
    for command in ("demo", "train"):
        text = disk_full(
            command, {"out": tmp_path / "demo"}, OSError(errno.ENOSPC, "No space left on device")
        )
        assert text is not None and "Nothing of this run was published" not in text
        assert "the steps this command finished before it" in text
        assert f"the MLflow tracking folder {store.parent} (" in text
    known = store_failure(sqlite3.OperationalError("database or disk is full"))
    assert known is not None and "its disk is full (SQLite: database or disk is full)" in str(known)


def test_a_file_system_without_locks_runs_with_a_note(tmp_path, monkeypatch, capsys):
    """An output on a file system that refuses locks (an NFS share whose lock service is down: `flock` fails with
    ENOLCK). Was: every command writing there exit 1 `unexpected OSError: [Errno 37] No locks available`. Now the
    step runs without the lock, with a note saying so (`pipelines.locks.held`)."""
    import fcntl

    from pipelines.locks import held

    def no_locks(*_args):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    ran = []
    with held(tmp_path / ".x.publish.lock", "the scores set x"):
        ran.append(1)
    assert ran == [1]
    note = " ".join(capsys.readouterr().err.split())
    assert "the scores set x cannot be locked on its file system (No locks available" in note
    # unlocked, the history's append leaves the staging folders (another host's live append), and any other
    # failure of flock is not taken for a file system without locks (was: every OSError, and the sweep)
    from pipelines.history_append import append_run
    from pipelines.history_store import open_history

    live = open_history(tmp_path / "h", create=True) / ".staging-other-host"
    live.mkdir()
    with pytest.raises(ValueError, match="is not a date"):
        append_run(tmp_path / "h", pd.DataFrame(), tmp_path / "c.parquet", {"as_of": "soon"})
    assert live.is_dir(), "another host's live append was swept"

    def broken(*_args):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(fcntl, "flock", broken)
    with pytest.raises(OSError, match="Input/output error"), held(tmp_path / ".y.lock", "the scores set y"):
        ran.append(2)
    assert ran == [1]


def test_a_report_path_that_a_browser_reads_otherwise_is_also_given_as_an_address(tmp_path):
    """`cvp report --out "reports #3"` (or `?`, `%`): the printed path of index.html, pasted into a browser or
    clicked in a terminal, stops at `#` (a fragment) or `?` (a query). Was: the path only. Now also its `file:`
    address, `#` written `%23` (`pipelines.jobs.browser_address`); a plain path gets nothing more."""
    from pipelines.jobs import browser_address

    page = tmp_path / "reports #3?" / "index.html"
    said = browser_address(page)
    assert said.startswith(" (in a browser: file:///") and said.endswith("/reports%20%233%3F/index.html)")
    assert browser_address(tmp_path / "reports" / "index.html") == ""


def test_an_output_path_with_brackets_is_printed_as_written(tmp_path):
    """`cvp generate --out "demo[red]"` (any output path holding rich markup: the history, the rejects, the
    backtest, the demo's pages). Was: printed as `demo`, the `[red]` taken as a colour. Now as written."""
    out = tmp_path / "demo[red]"
    res = cvp("generate", "--out", out, "--customers", 20)
    assert res.exit_code == 0, res.output
    # the console folds a long path anywhere (even inside `[red]`): read it without any space or fold
    assert f"{out}in" in "".join(res.output.split()), res.output
    # `cvp features` (and `cvp profile`) too: was `-> .../f.parquet`, the `[red]` dropped
    table = tmp_path / "f[red].parquet"
    res = cvp("features", "--data", out, "--as-of", "2025-06-01", "--out", table)
    assert res.exit_code == 0, res.output
    assert str(table) in res.output.replace("\n", ""), res.output


def test_a_tracking_uri_naming_the_sqlite_file_without_its_scheme(tmp_path):
    """`MLFLOW_TRACKING_URI=/srv/mlruns/mlflow.db` (the store's file, `sqlite:///` left out). Was: "names a
    directory: ... Give `sqlite:////srv/mlruns/mlflow.db/mlflow.db`", a store that does not exist. Now the URI
    to give is the file's own (`pipelines.tracking_store.check_tracking_uri`)."""
    from features.validation import StructuralError
    from pipelines.tracking_store import check_tracking_uri

    store = tmp_path / "mlruns" / "mlflow.db"
    for given in (store, tmp_path / "elsewhere.sqlite"):
        given.parent.mkdir(exist_ok=True)
        given.write_bytes(b"")
        with pytest.raises(StructuralError) as stop:
            check_tracking_uri(str(given))
        assert f"names the file of a sqlite store without its scheme: give `sqlite:///{given}`" in str(
            stop.value
        )
    for folder in (tmp_path / "mlruns", tmp_path / "store.db"):  # a directory named `store.db` too
        folder.mkdir(exist_ok=True)
        with pytest.raises(StructuralError, match="names a directory"):
            check_tracking_uri(str(folder))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="the umask is read from Linux's /proc")
def test_the_umask_is_read_without_being_changed(monkeypatch):
    """Every output's permissions follow the umask (`pipelines.staging.umask`). Was: read by setting it to 0 and
    back, so a file another thread of the run created in between was writable by anyone."""
    from pipelines.staging import umask

    mask = os.umask(0o027)
    try:
        changes: list[int] = []
        real = os.umask
        monkeypatch.setattr(os, "umask", lambda m: changes.append(m) or real(m))
        assert umask() == 0o027
        assert changes == []
    finally:
        monkeypatch.undo()
        os.umask(mask)


def test_a_tracking_store_that_is_not_there_is_named_not_created(tmp_path, monkeypatch):
    """A typo in `--tracking-uri`, MLFLOW_TRACKING_URI or `mlflow.tracking_dir` for a command that only reads the
    registry. Was: `cvp models` (and `cvp score`, `cvp models promote`) made the folders and a new empty store at
    the typo'd path, then said "no version" / "no champion", the empty store left behind. Now exit 2 naming the
    path and that no store is there, nothing created; `cvp report`'s model card says so (`configure_tracking`'s
    `reading`); `cvp train` still creates a store."""
    from pipelines.config import load_config
    from pipelines.tracking_card import model_card

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "mlruns").mkdir()
    (tmp_path / "mlruns" / "mlflow.db").write_bytes(b"")  # the configured store: named as the one meant
    typo = tmp_path / "mlrnus" / "mlflow.db"
    uri = f"sqlite:///{typo}"
    (tmp_path / "data").mkdir()
    score = ("score", "--data", "data", "--as-of", "2024-01-01", "--out", "s.parquet", "--tracking-uri", uri)
    score += ("--rejects", "rej")  # a run stopped after the outputs' checks: was `rej` left empty
    runs = {
        "models": cvp("models", "--tracking-uri", uri),
        "promote": cvp("models", "promote", "1", "--tracking-uri", uri),
        "score": cvp(*score),
    }
    said = {name: " ".join(res.output.split()) for name, res in runs.items()}
    assert {name: res.exit_code for name, res in runs.items()} == dict.fromkeys(runs, 2), said
    for text in said.values():
        assert f"there is no tracking store at {typo}" in text, text
        assert f"did you mean the configured one, {tmp_path / 'mlruns' / 'mlflow.db'}?" in text, text
    assert not typo.parent.exists() and not (tmp_path / "rej").exists()
    card = model_card("3", load_config(None), 90, run_id="abc", tracking_uri=uri)
    assert card["notes"].startswith(f"there is no tracking store at {typo}"), card
    assert not typo.parent.exists()


def test_the_checks_of_a_rejects_directory_do_not_make_it(tmp_path):
    """`cvp score --rejects DIR` / `cvp validate --rejects DIR`: the outputs' checks made DIR (probing inside
    it), so a run that stopped afterwards (a full disk at the manifest, a structural stop, no champion) left it
    empty and unmarked. Now the parent is probed, where its stage is made; a previous DIR is untouched."""
    from pipelines.output_checks import check_outputs, rejects_outputs

    for rej in (tmp_path / "new" / "rej", tmp_path / "rej"):
        check_outputs(None, {}, rejects_outputs(rej), None, rejects_outputs(rej))
        assert not rej.exists()
    (tmp_path / "rej").mkdir()
    (tmp_path / "rej" / "orders.csv").write_text("row\n")
    check_outputs(None, {}, rejects_outputs(tmp_path / "rej"), None, rejects_outputs(tmp_path / "rej"))
    assert sorted(p.name for p in (tmp_path / "rej").iterdir()) == ["orders.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new", "rej"]  # no probe left either
