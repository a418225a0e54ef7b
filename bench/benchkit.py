"""What every benchmark of `bench/` shares: where it works and how it reports the machine's load."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def work_dir(cache: Path | None, prefix: str) -> Iterator[Path]:
    """`cache` (created, kept and reused) when the user passes one, else a fresh temporary directory removed at the
    end, so a figure never comes from data or a model left by older code."""
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        yield cache
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        yield Path(tmp)


def load_text() -> str:
    """The 1, 5 and 15 minute load averages, printed beside every figure (absolute times drift with the load)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
