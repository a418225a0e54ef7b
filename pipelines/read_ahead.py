"""A data directory's tables read one after another on a background thread while the caller validates the ones
already read (issue 14: reading is pyarrow's work and the kernel's, which release the GIL; the row checks are
mostly one thread's, so at a million customers the two shared one core while the other was idle).

`ReadAhead` is the mapping `validate_tables` is given: its names are known at once, a table is waited for when it
is first asked for, then checked by `check` (the currency columns) before the caller sees it. The files are read
in the order given, as before, and the errors come in the order they came before: every file is read before any
check or validation error is raised (`finish`), so a file that cannot be read is reported first, then the first
table whose check fails, then the validation's error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from models.threads import prediction_threads


class ReadAhead(Mapping[str, pd.DataFrame]):
    """`{name: read(path)}` for `files`, read in order on one background thread (on the caller's thread, one table
    at a time as asked for, under `OMP_NUM_THREADS=1`); `check(name, frame)` runs on the caller's thread before a
    table is first handed out. `finish` waits for every read and check; `close` stops the reads not started."""

    def __init__(
        self,
        files: Mapping[str, Path],
        read: Callable[[Path], pd.DataFrame],
        check: Callable[[str, pd.DataFrame], None] | None = None,
    ) -> None:
        self._files = dict(files)
        self._read = read
        self._check = check
        self._read_frames: dict[str, pd.DataFrame] = {}
        self._checked: set[str] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: dict[str, Future] = {}
        if prediction_threads() >= 2 and len(self._files) > 1:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-ahead")
            self._pending = {name: self._pool.submit(read, path) for name, path in self._files.items()}

    @property
    def files(self) -> dict[str, Path]:
        return dict(self._files)

    def checked_by(self, check: Callable[[str, pd.DataFrame], None]) -> ReadAhead:
        """This, each table checked by `check` before it is handed out (set before the first is asked for)."""
        if self._checked:
            raise RuntimeError("a table was handed out already")
        self._check = check
        return self

    def _take(self, name: str) -> pd.DataFrame:
        """The table as read (not yet checked): waited for, or read here without a pool."""
        if name not in self._read_frames:
            future = self._pending.pop(name, None)
            self._read_frames[name] = self._read(self._files[name]) if future is None else future.result()
        return self._read_frames[name]

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._files:
            raise KeyError(name)
        for earlier in self._files:  # in order: the checks, and without a pool the reads
            if earlier not in self._checked:
                frame = self._take(earlier)
                if self._check is not None:
                    self._check(earlier, frame)
                self._checked.add(earlier)
            if earlier == name:
                break
        if not self._pending:
            self.close()
        return self._read_frames[name]

    def __contains__(self, name: object) -> bool:  # Mapping's would read the table
        return name in self._files

    def __iter__(self) -> Iterator[str]:
        return iter(self._files)

    def __len__(self) -> int:
        return len(self._files)

    def finish(self) -> None:
        """Read every file (the first that cannot be read raises), then check every table (the first that fails
        raises): what reading every file before checking any did."""
        try:
            for name in self._files:
                self._take(name)
            for name in self._files:
                self[name]
        finally:
            self.close()

    def release(self) -> None:
        """Let go of the tables read (the caller holds what it kept): whoever else holds this mapping (`cvp
        score`'s `ahead`) no longer keeps them alive, so their memory is given back when the caller frees it."""
        self.close()
        self._read_frames.clear()

    def close(self) -> None:
        """Cancel the reads not started and wait for the one running (no thread outlives the load)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


__all__ = ["ReadAhead"]
