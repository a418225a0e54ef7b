"""One way for the job tests to run `cvp score`'s job on the shared `trained` fixture (a model and its data)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console

from pipelines.engines.run import run_score
from pipelines.engines.score_run import ScoreRun

AS_OF = "2025-01-01"


def score_trained(trained: Any, out: Path, **overrides: Any) -> ScoreRun:
    """`run_score` on the fixture's data and config with the pandas engine, as of 2025-01-01, into `out`.

    Any argument of `run_score` can be overridden (`data=`, `config=`, `console=`, `strict=`, ...); the default
    console records what the job prints (`console.file.getvalue()`) at a width that never wraps a message.
    """
    args: dict[str, Any] = dict(
        data=trained.data,
        as_of_text=AS_OF,
        out=out,
        model_uri=None,
        engine="pandas",
        chunk_customers=None,
        mapping=None,
        config=trained.config,
        console=Console(file=io.StringIO(), width=400),
    )
    return run_score(**(args | overrides))


def score_cli_args(
    trained: Any, out: Path, as_of: str = AS_OF, config: Path | None = None, *extra: str
) -> list[str]:
    """`cvp score`'s arguments on the fixture's data and config (for CliRunner or a subprocess), then `extra`."""
    return [
        "score",
        "--data",
        str(trained.data),
        "--as-of",
        as_of,
        "--out",
        str(out),
        "--config",
        str(config or trained.config),
        *extra,
    ]
