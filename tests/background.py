"""Fresh processes started ahead of the tests that read them (test fixtures, not product code).

A few tests check a fresh process: a real `mlflow server`, a `cvp score` process killed mid-publishing, the champion
loaded by a new interpreter, the numba warm-up into an empty cache, the objectives bench. Most of their time is imports, one core's worth, while the suite's own process uses the
other core; so the conftests start each one as soon as what it needs exists (`tests/conftest.py`: the server, the
numba warm-up and the objectives bench when the tests are collected; `tests/pipelines/conftest.py`: the others once
the `trained` or `default_scores` fixture is made), and only when its test was collected. The test then `take`s its process (or starts it then, run alone) and asserts exactly as before.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: Seconds a starting server may take to answer /health: generous, because under load (2 busy cores) the server's
#: imports alone can take a minute; readiness is polled, so a quick start costs nothing.
READY_TIMEOUT_S = 240

_STARTED: dict[str, Any] = {}
_SCRATCH: list[Path] = []


def scratch(name: str) -> Path:
    """A new directory for an early process, removed at the end of the session (`stop_all`)."""
    _SCRATCH.append(Path(tempfile.mkdtemp(prefix=f"cvp-{name}-")))
    return _SCRATCH[-1]


def start_early(name: str, start: Callable[[], Any]) -> None:
    """Start `name` now (once), for its test to `take` later."""
    if name not in _STARTED:
        _STARTED[name] = start()


def ended_well(name: str) -> bool:
    """Whether the process started early under `name` and not yet taken has ended with exit code 0 (not waited
    for)."""
    proc = _STARTED.get(name)
    return proc is not None and proc.ended_well()


def take(name: str, start: Callable[[], Any]) -> Any:
    """The process started early under `name`, or `start()` now when nothing was (the test run on its own)."""
    return _STARTED.pop(name, None) or start()


def stop_all() -> None:
    """At the end of the session: stop whatever no test took, remove the early processes' directories."""
    while _STARTED:
        _STARTED.popitem()[1].stop()
    while _SCRATCH:
        shutil.rmtree(_SCRATCH.pop(), ignore_errors=True)


def _die_with_parent() -> None:
    """In the child before it runs: on Linux, be killed when the test process dies (a pytest killed by a timeout
    leaves no server or paused `cvp score` behind); elsewhere nothing."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def stop_group(proc: subprocess.Popen) -> None:
    """Stop a process and its children (uvicorn runs in a child of `mlflow server`): signal the process group."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # any child left behind
    proc.wait()


class Fresh:
    """A fresh interpreter running `args`, its stdout and stderr in files (a pipe nobody reads fills up and blocks
    it), in a process group of its own."""

    def __init__(
        self, args: list[str], logs: Path, env: dict[str, str] | None = None, cwd: Path | None = None
    ):
        logs.mkdir(parents=True, exist_ok=True)
        self.stdout, self.stderr = logs / "stdout.txt", logs / "stderr.txt"
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, *args],
                stdout=out,
                stderr=err,
                env=env,
                cwd=cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def wait(self, timeout: float) -> tuple[int, str, str]:
        """Its exit code, stdout and stderr once it ends."""
        code = self.proc.wait(timeout=timeout)
        return code, self.stdout.read_text(errors="replace"), self.stderr.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float) -> bool:
        """Whether `text` appears on its stderr before it exits or the timeout passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.stderr.read_text(errors="replace"):
                return True
            if self.proc.poll() is not None:
                return text in self.stderr.read_text(errors="replace")
            time.sleep(0.2)
        return False

    def ended_well(self) -> bool:
        return self.proc.poll() == 0

    def stop(self) -> None:
        stop_group(self.proc)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TrackingServer:
    """A real `mlflow server` on a free port, its sqlite store and artefacts under `root` (MLflow creates the
    store). The port is free when chosen but another process may take it before the server binds: the server
    then exits, and `url()` starts it again on another port."""

    def __init__(self, root: Path):
        self.root = root
        self.attempt = 0
        self._launch()

    def _launch(self) -> None:
        self.port = _free_port()
        cmd = [
            str(Path(sys.executable).with_name("mlflow")),
            "server",
            "--backend-store-uri",
            f"sqlite:///{self.root / 'server.db'}",
            "--artifacts-destination",
            str(self.root / "server-artifacts"),
            "--serve-artifacts",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
        # no job-runner process: nothing here runs server jobs
        env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
        self.log = self.root / f"server-{self.attempt}.log"
        with self.log.open("wb") as sink:
            self.proc = subprocess.Popen(
                cmd,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=self.root,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    def _ready(self, deadline: float) -> bool:
        """Poll /health until it answers 200 (True) or the server exits (False); fail at the deadline."""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=5) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(
            f"mlflow server did not answer /health on port {self.port} within {READY_TIMEOUT_S} s"
        )

    def url(self) -> str:
        """The server's URL once it answers /health (started again on another port, up to 3 starts in all)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            try:
                ready = self._ready(deadline)
            except BaseException:
                self.stop()
                raise
            if ready:
                return f"http://127.0.0.1:{self.port}"
            self.stop()
            if self.attempt == 2:
                raise RuntimeError(
                    f"mlflow server exited 3 times; last log: {self.log.read_text(errors='replace')[-2000:]}"
                )
            self.attempt += 1
            self._launch()

    def stop(self) -> None:
        stop_group(self.proc)


ROOT = Path(__file__).resolve().parents[1]

#: A fresh interpreter loads the `trained` fixture's champion through MLflow's pyfunc flavour and predicts.
CHAMPION_SCRIPT = """
import mlflow, pandas as pd
from features import build_feature_table
from pipelines.config import load_config
from pipelines.io import load_data
cfg = load_config({config!r})
mlflow.set_tracking_uri("sqlite:///{mlruns}/mlflow.db")
model = mlflow.pyfunc.load_model("models:/customer-value@champion")
tables = load_data({data!r}).tables
X = build_feature_table(tables, pd.Timestamp("2024-10-01"), cfg.features).head(50).reset_index(drop=True)
for c in X.columns:
    if isinstance(X[c].dtype, pd.CategoricalDtype):
        X[c] = X[c].astype("str")
out = model.predict(X)
assert len(out) == 50 and out["pred_churn_prob_365d"].between(0, 1).all(), out
print("OK", list(out.columns))
"""


def champion_process(trained: Any) -> Fresh:
    """`CHAMPION_SCRIPT` on the `trained` fixture, in a fresh interpreter."""
    script = CHAMPION_SCRIPT.format(config=str(trained.config), mlruns=trained.mlruns, data=str(trained.data))
    # the script names its store: no tracking or registry URI a job of this process left in the environment
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    return Fresh(["-c", script], scratch("champion"), env=env | {"PYTHONPATH": str(ROOT)})


#: Where the killed `cvp score` process stops: after it published the new contributions, before the scores.
KILL_POINT = "after_contributions"


def paused_score_process(trained: Any, default_scores: Any) -> Fresh:
    """A real `cvp score` process on the `trained` fixture (as of 2025-01-02) into a copy of `default_scores`' set
    (the previous set, at `.out`), told to pause at `KILL_POINT` (it says so on stderr and waits to be killed)."""
    from pipelines.outputs import PAUSE_ENV
    from tests.pipelines.score_helpers import score_cli_args

    root = scratch("killed-score")
    out = root / KILL_POINT / default_scores.out.name
    shutil.copytree(default_scores.out.parent, out.parent)  # the previous set
    env = os.environ | {PAUSE_ENV: KILL_POINT, "PYTHONPATH": str(ROOT)}
    # -X importtime: the test also reads which modules the real command imported (never pyspark on pandas)
    args = ["-X", "importtime", "-m", "pipelines.cli", *score_cli_args(trained, out, "2025-01-02")]
    proc = Fresh(args, root / "logs", env=env, cwd=trained.root)
    proc.out = out
    return proc


def collected(session: Any, test: str) -> bool:
    """Whether a test (by name) or a test file (by file name) is among the session's collected tests and runs in
    this process (on `pytest -n N`: it is pinned to this worker, `tests/lanes.py`)."""
    from tests.lanes import runs_here

    return any((item.name == test or item.path.name == test) and runs_here(item) for item in session.items)


def numba_warm_up() -> Fresh:
    """`python -m models.treeshap --warm` with an empty user cache (`$XDG_CACHE_HOME` = `.root / "xdg"`)."""
    root = scratch("numba-warm")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"} | {
        "XDG_CACHE_HOME": str(root / "xdg")
    }
    proc = Fresh(["-m", "models.treeshap", "--warm"], root / "logs", env=env, cwd=ROOT)
    proc.root = root
    return proc


def objectives_smoke() -> Fresh:
    """`bench/objectives.py --smoke`."""
    return Fresh([str(ROOT / "bench" / "objectives.py"), "--smoke"], scratch("objectives"), cwd=ROOT)


#: The `trained` fixture's training; on `pytest -n N` it also writes its exit code to `exit` under its root.
TRAIN_SCRIPT = """
import sys, traceback
from pathlib import Path
from tests.pipelines.conftest import build_trained
root, code = Path({root!r}), 1
try:
    build_trained(root)
    code = 0
except BaseException:
    traceback.print_exc()
finally:
    if {shared!r}:
        (root / "exit.tmp").write_text(str(code))
        (root / "exit.tmp").replace(root / "exit")
sys.exit(code)
"""


def trained_process() -> Fresh | TrainedElsewhere:
    """`tests.pipelines.conftest.build_trained` into a new directory (`.root`), in a fresh interpreter. On
    `pytest -n N` the first worker to ask trains into the run's shared directory; the others wait for it."""
    from tests.lanes import shared_dir

    shared = shared_dir()
    if shared is None:
        root = scratch("trained")
    else:
        root = shared / "trained"
        try:
            root.mkdir()  # atomic: one worker only trains
        except FileExistsError:
            return TrainedElsewhere(root)
    code = TRAIN_SCRIPT.format(root=str(root), shared=shared is not None)
    proc = (Fresh if shared is None else SharedFresh)(
        ["-c", code], root / "logs", env=os.environ | {"PYTHONPATH": str(ROOT)}, cwd=ROOT
    )
    proc.root = root
    return proc


class SharedFresh(Fresh):
    """A fresh process other workers read: at the end of this worker's tests it is left to finish (bounded),
    never stopped halfway."""

    def stop(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=1800)
        stop_group(self.proc)


class TrainedElsewhere:
    """The `trained` fixture's training run by another worker of `pytest -n N` (`trained_process`): `wait` reads
    its exit code from `exit` under `.root` once written, and its stderr."""

    shared = True

    def __init__(self, root: Path):
        self.root = root

    def wait(self, timeout: float) -> tuple[int, str, str]:
        deadline, done = time.monotonic() + timeout, self.root / "exit"
        while not done.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the other worker's training wrote no {done} within {timeout} s")
            time.sleep(0.2)
        err = self.root / "logs" / "stderr.txt"
        return int(done.read_text()), "", err.read_text(errors="replace") if err.exists() else ""

    def ended_well(self) -> bool:
        done = self.root / "exit"
        return done.exists() and done.read_text().strip() == "0"

    def stop(self) -> None:
        pass


def spark_cluster_process(trained: Any) -> Fresh:
    """`tests.pipelines.spark_cluster_run` on the `trained` fixture: the standalone cluster started and its one
    `cvp score` run made in a fresh process that then holds the cluster until stopped (`.root`: what it wrote)."""
    root = scratch("spark-cluster")
    args = [
        "-m",
        "tests.pipelines.spark_cluster_run",
        str(root / "run"),
        str(trained.data),
        str(trained.config),
    ]
    proc = Fresh(args, root / "logs", env=os.environ | {"PYTHONPATH": str(ROOT)}, cwd=ROOT)
    proc.root = root / "run"
    return proc
