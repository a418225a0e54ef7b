"""One way for the job tests to run `cvp score`'s job on the shared `trained` fixture (a model and its data)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console

from pipelines.engines.run import run_score
from pipelines.engines.score_run import ScoreRun

AS_OF = "2025-01-01"


def earlier_scores(targets: Any) -> tuple[Path | None, str | None]:
    """What `pipelines.outputs.publish` decides under the set's lock of the scores file of the other format
    beside the set published at `targets` (`staging.earlier_twin` with `output_twin.scores_of`), looked at by the
    tests before publishing: (it, None) when it is the replaced manifest's run's (removed), else (None, the
    warning that it is left). The tests' helper: no product code looks before the lock (round 29)."""
    from pipelines import staging
    from pipelines.output_twin import scores_of, twin_paths

    return staging.earlier_twin(*twin_paths(targets), scores_of)


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
