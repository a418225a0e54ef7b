"""Where a command may write: every output checked before the model or the data are read, by one helper.

`check_outputs` is what `cvp validate`, `features`, `score`, `report`, `backtest`, `profile` and `generate` call
for their outputs. In this order, each a structural error (exit 2) naming the output and why:

- an output on the tables of `--data` (`pipelines.table_files.check_outputs_beside_tables`);
- an output on a source file of `--mapping` (sources are read from `--data` under any name: `--out
  data/online_retail.parquet` would replace the invoice lines), or a directory written into that holds one
  (`--rejects data/raw` writes `<table>.csv` and `<source>.source.csv` beside `data/raw/orders.csv`);
- an output inside a score history, this run's `--history` or any other (`--out history/scores.parquet`,
  `cvp report --out history/pages`: the history holds only its partitions, and every later run refused it), or
  inside a directory of pages or profile tables, which the next `cvp report` / `cvp profile` replaces whole;
- two outputs of one run on each other (`--out rej/tickets.csv --rejects rej`: the rejects replaced by the
  scores, exit 0);
- a file standing where a directory must be (`--out afile/scores.parquet`: was "File exists", "Not a
  directory", or for `--rejects` and `--history` an `unexpected NotADirectoryError` after the whole load);
- a place that cannot be written (`pipelines.io.check_writable`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from features.contract import TABLES
from features.validation import StructuralError

#: Marks a score history (`pipelines.history`): a directory that holds only its partitions.
HISTORY_MARKER = ".cvp-history"
#: Mark a directory of pages (`pipelines.reports.pages`) or of profile tables (`pipelines.profile`) that the next
#: run replaces whole.
REPORT_MARKER = ".cvp-report"
PROFILE_MARKER = ".cvp-profile"
#: Marks a `cvp backtest --out` directory of metrics and plots, replaced whole by the next backtest.
BACKTEST_MARKER = ".cvp-backtest"
#: Marks a `--rejects` directory (`cvp validate`, `cvp score`): one output set, replaced whole by the next run's
#: rejects (`pipelines.loading.publish_rejects`, `pipelines.engines.spark_parts.publish_rejects_spark`).
REJECTS_MARKER = ".cvp-rejects"
#: The directories cvp owns: nothing else may be written inside them, and why.
OWNED_MARKERS = {
    HISTORY_MARKER: "score history, which holds only what `cvp score --history` writes (every later run would "
    "refuse it)",
    REPORT_MARKER: "report directory, which the next `cvp report` replaces whole (it would be deleted)",
    PROFILE_MARKER: "profile directory, which the next `cvp profile` replaces whole (it would be deleted)",
    BACKTEST_MARKER: "backtest directory, which the next `cvp backtest` replaces whole (it would be deleted)",
    REJECTS_MARKER: "rejects directory, which the next run's --rejects replaces whole (it would be deleted)",
}


def check_table_suffix(path: Path, flag: str = "--out") -> None:
    """A table written by a command (`cvp score`'s scores with the pandas engine, `cvp features`' feature table)
    ends in .parquet or .csv: the format is read from it (was, for `cvp features`: `--out .` or `--out /` exit 1
    `unexpected ValueError: ... has an empty name`, `--out /tmp` an `unexpected IsADirectoryError` after every
    feature was built)."""
    if Path(path).suffix not in (".parquet", ".csv"):
        raise StructuralError(f"{flag} must end in .parquet or .csv, not {Path(path).name or str(path)!r}")


def file_stem(path: Path) -> str:
    """The name of an output set's file without its suffix (`scores` of `scores.parquet`); a path naming no file
    (`.`, `/`, `..`) is refused (was: `cvp score --out .`, `cvp report --scores /` exit 1 `unexpected ValueError:
    PosixPath('.') has an empty name`)."""
    path = Path(path)
    if path.name in ("", ".."):
        raise StructuralError(
            f"{str(path)!r} names a directory, not a file: give the file's name (scores.parquet)"
        )
    return path.name[: -len(path.suffix)] if path.suffix else path.name


def check_demo_directory(out: Path, suffix: str) -> list[Path]:
    """`cvp generate --out` (and `cvp demo`'s data) into a directory holding contract tables it did not write (no
    `_truth/truth.parquet`: a real export) is refused (was: the real `orders.parquet`, ... replaced by the demo
    company's without a word, or a real `orders.csv` left beside a demo `orders.parquet`). Returns the table files
    of an earlier demo company written in another format, which the new one replaces."""
    out = Path(out)
    if not out.is_dir():
        return []
    tables = sorted(p for p in out.iterdir() if p.name.partition(".")[0].lower() in TABLES)
    if tables and not (out / "_truth" / "truth.parquet").is_file():
        names = ", ".join(p.name for p in tables[:4]) + (", ..." if len(tables) > 4 else "")
        raise StructuralError(
            f"{out} holds tables the demo generator did not write ({names}): the demo company would replace them "
            "or sit beside them; give a new or empty directory"
        )
    return [
        p for p in tables if p.is_file() and p.name.lower() != f"{p.name.partition('.')[0].lower()}{suffix}"
    ]


#: Directories of the system an output directory never is (nor the filesystem root, nor the home directory).
SYSTEM_DIRECTORIES = (
    "bin",
    "boot",
    "dev",
    "etc",
    "lib",
    "lib32",
    "lib64",
    "opt",
    "proc",
    "root",
    "run",
    "sbin",
    "srv",
    "sys",
    "tmp",
    "usr",
    "var",
    "home",
    "mnt",
    "media",
)


def check_not_system_directory(path: Path, what: str) -> None:
    """A directory output naming the filesystem root, a top-level system directory or the home directory is
    refused before anything is read (was: `cvp backtest --out /` wrote its metrics and plots into `/`); the rule
    `cvp score --out /` follows (`file_stem`: a path naming no file) for every command's directories."""
    target = Path(path).resolve()
    root = Path(target.anchor)
    if (
        target == root
        or (target.parent == root and target.name in SYSTEM_DIRECTORIES)
        or target == Path.home()
    ):
        raise StructuralError(
            f"the {what} {str(path)!r} is {target}, a directory of the system (or its root, or the home "
            "directory): give a directory of its own (out/backtest)"
        )


def file_in_the_way(path: Path) -> Path | None:
    """The nearest existing ancestor of `path` when it is not a directory (nothing can be created under it)."""
    for parent in Path(path).parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def check_outputs(
    data: Path | str | None,
    files: Mapping[str, Path],
    dirs: Mapping[str, Path] | None = None,
    mapping: Path | None = None,
    owned: Mapping[str, Path] | None = None,
) -> None:
    """Every output of a command, checked before anything is read or computed (see the module docstring).

    `files`: what -> a file to be written (its directory is probed); `dirs`: what -> a directory written into
    (probed inside); `owned`: what -> a directory that holds only what cvp writes there, so no other output of
    the run may lie inside it (it is checked like `dirs` too)."""
    from pipelines.io import check_writable
    from pipelines.table_files import check_outputs_beside_tables

    files = {what: Path(p) for what, p in files.items()}
    dirs = {what: Path(p) for what, p in (dirs or {}).items()}
    owned = {what: Path(p) for what, p in (owned or {}).items()}
    for what, path in (
        files | dirs | owned
    ).items():  # the report and profile directories are passed as files
        check_not_system_directory(path, what)
    check_outputs_beside_tables(data, files, dirs | owned)
    _check_beside_sources(data, mapping, files, dirs | owned)
    _check_apart(files, dirs | owned)
    for whose, folder in owned.items():
        inside = folder.resolve()
        for what, path in (files | dirs).items():
            target = path.resolve()
            if what != whose and (target == inside or inside in target.parents):
                raise StructuralError(
                    f"the {what} {path} is inside the {whose} {folder}, which holds only what cvp writes there; "
                    "write it elsewhere"
                )
    for what, path in (files | dirs | owned).items():
        for folder in Path(path).resolve().parents:
            marker = next((m for m in OWNED_MARKERS if (folder / m).is_file()), None)
            if marker is not None:
                raise StructuralError(
                    f"the {what} {path} is inside the {OWNED_MARKERS[marker].replace(',', f' {folder},', 1)}; "
                    "write it elsewhere"
                )
    for what, path in (files | dirs | owned).items():
        blocker = file_in_the_way(path)
        if blocker is None and what in (dirs | owned) and path.exists() and not path.is_dir():
            blocker = path
        if blocker is not None:
            raise StructuralError(f"cannot write the {what} to {path}: {blocker} is a file, not a directory")
    for what, path in files.items():
        check_writable(path, what)
    for what, path in dirs.items():  # one cvp owns is staged beside it: its parent probed, it not made here
        # (was: `--rejects DIR` created empty and unmarked by this check, left so by a run that stopped later)
        check_writable(path.with_name(f".{path.name}.stage") if what in owned else path / "orders.csv", what)


def rejects_outputs(rejects: Path | None) -> dict[str, Path]:
    """`--rejects DIR` as `check_outputs` takes it (both a directory written into and one cvp owns: it is
    replaced whole, so no other output of the run may lie inside it), or nothing."""
    return {} if rejects is None else {"rejects directory": Path(rejects)}


def check_rejects_replaceable(rejects: Path | None) -> None:
    """The rejects directory is one output set, replaced whole by the run (`pipelines.staging.atomic_directory`):
    one holding other files without `REJECTS_MARKER` is refused before the model or the data are read (was: the
    files written one by one beside an earlier run's, a table without rejects today still showing yesterday's
    file). Its parent must take the staging directory and the swap."""
    if rejects is None:
        return
    from pipelines.io import check_writable
    from pipelines.staging import check_replaceable

    target = check_replaceable(Path(rejects), REJECTS_MARKER)
    check_writable(target.with_name(f".{target.name}.stage"), "rejects directory")  # probes its parent


def _check_apart(files: Mapping[str, Path], dirs: Mapping[str, Path]) -> None:
    """A file output that is a directory output, or lies in one under a name that directory gets (`--out
    rej/tickets.csv --rejects rej`: the tickets' rejects, written while loading, replaced by the scores)."""
    for whose, folder in dirs.items():
        inside = folder.resolve()
        for what, path in files.items():
            target = path.resolve()
            name = target.name.casefold()
            taken = name.endswith(".source.csv") or name.removesuffix(".csv") in TABLES
            if target == inside or (target.parent == inside and taken):
                raise StructuralError(
                    f"the {what} {path} and the {whose} {folder} would write over each other (it holds "
                    "<table>.csv files); give them different places"
                )


def _check_beside_sources(
    data: Path | str | None, mapping: Path | None, files: Mapping[str, Path], dirs: Mapping[str, Path]
) -> None:
    """Outputs on a mapping's source files (any case: a case-insensitive disk writes `Lines.csv` over
    `lines.csv`), or directories whose `<table>.csv` / `<source>.source.csv` files would replace one."""
    if mapping is None or data is None or not Path(data).is_dir() or not Path(mapping).is_file():
        return
    from pipelines.mapping import load_mapping

    root = Path(data).resolve()
    sources = {
        name: (root / spec.file).resolve() for name, spec in load_mapping(Path(mapping)).sources.items()
    }
    written_in_dirs = {f"{t}.csv" for t in TABLES} | {f"{name}.source.csv" for name in sources}
    for name, source in sources.items():
        for what, path in files.items():
            target = path.resolve()
            if target.parent == source.parent and target.name.casefold() == source.name.casefold():
                _refuse(what, path, name, source, "it would replace the source file")
        for what, path in dirs.items():
            if path.resolve() == source.parent and source.name.casefold() in written_in_dirs:
                _refuse(what, path, name, source, f"its {source.name} would replace the source file")


def _refuse(what: str, path: Path, name: str, source: Path, why: str) -> None:
    raise StructuralError(
        f"the {what} {path} is the mapping's source {name!r} ({source}) or would write over it: {why}. Write "
        "outputs outside --data (or under another name)"
    )
