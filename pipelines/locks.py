"""Advisory file locks between cvp processes writing or reading the same outputs (`fcntl.flock`).

Two `cvp score` runs into one `--out`, or a `cvp report` reading a set while a run publishes over it, each take
the lock of that place: publishing and completing an interrupted publish hold it exclusively, reading a set
holds it shared, appending to a score history holds the history's exclusively. The lock is a hidden file
beside what it guards and is kept (removing a lock file others may be waiting on would let two in at once).
A process killed while holding a lock releases it (the system closes its files), so a killed run never leaves
a place locked. Where the lock file cannot be created (a read-only directory, a system without `fcntl`), the
guarded step runs without it: nothing else can write there either. Where the file system refuses locks (an NFS
share whose lock service is down: `ENOLCK`), it runs without it too, with a note.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from features.errors import printable
from features.validation import StructuralError

#: How long a step waits for another process's lock before it gives up with a message (publishing takes
#: milliseconds, reading a large set or appending a run to a history seconds).
WAIT_S = 600.0


#: A file system that refuses locks: an NFS share whose lock service is down (ENOLCK), one without them (EOPNOTSUPP).
_NO_LOCKS = (errno.ENOLCK, errno.EOPNOTSUPP)


@contextlib.contextmanager
def held(lock_file: Path, what: str, shared: bool = False, wait_s: float | None = None) -> Iterator[bool]:
    """Hold the lock `lock_file` (created if missing) for the block; `what` names the guarded place in the
    message given when another process holds it longer than `wait_s` seconds (default `WAIT_S`). Yields True
    when the lock is held, False when the block runs without it (no `fcntl`, a read-only place, a file system
    refusing locks): a caller that would remove another run's files under the lock (the history's sweep of
    staging folders) must not then."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system: no advisory locks
        yield False
        return
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        try:  # another user's lock file: a lock is taken on a file opened for reading too
            fd = os.open(lock_file, os.O_RDONLY)
        except OSError:  # read-only place: nothing can write there, nothing to guard against
            yield False
            return
    try:
        mode = (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        wait_s = WAIT_S if wait_s is None else wait_s
        deadline = time.monotonic() + wait_s
        said = False
        locked = True
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except BlockingIOError:
                if not said:  # a batch log shows why the run pauses
                    print(
                        f"waiting: {what} is in use by another cvp process ({printable(str(lock_file))})",
                        file=sys.stderr,
                    )
                    said = True
                if time.monotonic() >= deadline:
                    raise StructuralError(
                        f"{what} is being written by another cvp process (lock {printable(str(lock_file))} held "
                        f"for more than {wait_s:.0f} s); wait for it to finish, or write to another place"
                    ) from None
                time.sleep(0.05)
            except OSError as exc:  # was: exit 1 `unexpected OSError: [Errno 37] No locks available`
                if exc.errno not in _NO_LOCKS:  # any other failure is not a file system without locks
                    raise
                print(
                    f"note: {what} cannot be locked on its file system ({exc.strerror or exc}: "
                    f"{printable(str(lock_file))}); this run goes on without the lock: do not start another cvp "
                    "run writing there meanwhile",
                    file=sys.stderr,
                )
                locked = False
                break
        yield locked
    finally:
        os.close(fd)  # releases the lock
