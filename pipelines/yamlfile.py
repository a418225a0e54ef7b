"""Reading the product's own YAML files (configs, mappings): UTF-8 text, safe loading, clear errors."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from features.errors import StructuralError


class _UniqueKeys(yaml.constructor.SafeConstructor):
    """A safe loader refusing a key written twice in one mapping (PyYAML keeps the last silently: a config with
    `horizon_days: 90` then `horizon_days: 365` ran on 365). Merge keys (`<<: *defaults`) still override."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        # not a mapping (`!!set [1]`): SafeLoader's own error names it
        for key_node, _ in node.value if isinstance(node, yaml.MappingNode) else ():
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                continue  # unhashable: SafeLoader's own error names it
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} is written twice (first at line {seen[key].line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


class _UniqueKeyLoader(_UniqueKeys, yaml.SafeLoader):
    """`yaml.SafeLoader` (pure Python) with `_UniqueKeys` and YAML 1.2's core types (below)."""


#: YAML 1.1's implicit types that YAML 1.2 (2009) dropped, which PyYAML still reads: `yes`, `no`, `on`, `off` as
#: true/false (a mapping's source column `No` or `On` read as `False`: "order_id = False: should be a valid
#: string"), an integer with a leading zero as octal (`windows_days: [030, 090]`: 24 and 90), `1:30` as 90 (base
#: 60), `0x5A` as 90, `1:30.0` as 90.0, `1_000.5` as 1000.5. Only YAML 1.2's core forms are read so: `true`/`false`
#: (three cases), decimal integers (`030` is 30) and decimal fractions (`0.5`, `.5`, `1.5e-3`, `.inf`, `.nan`); any
#: other such scalar stays the text written, which a setting then reads or refuses by name.
_BOOL, _INT, _FLOAT = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_UniqueKeyLoader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_UniqueKeyLoader.add_implicit_resolver(_INT, re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789"))
_UniqueKeyLoader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def _decimal_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    """An integer written in decimal; `!!int 0x5A` (a tag forcing another form) is the file's error, by line
    (was: a bare ValueError, a traceback)."""
    text = loader.construct_scalar(node)
    try:
        return int(text)
    except ValueError:
        raise yaml.constructor.ConstructorError(
            None, None, f"{text!r} is no decimal integer: write it in decimal digits", node.start_mark
        ) from None


_UniqueKeyLoader.add_constructor(_INT, _decimal_int)


class _WrongTag(yaml.YAMLError):
    """A value tagged with a type it is not (`!!float abc`, `!!timestamp x`, `!!bool maybe`): PyYAML's constructor
    of that type raised `original` (a ValueError, AttributeError, KeyError or IndexError, not a YAMLError)."""

    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original


def _tag_checked(construct: Any) -> Any:
    """PyYAML's constructor `construct` with its errors on a value it cannot read as its type made `_WrongTag`."""

    def checked(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        try:
            return construct(loader, node)
        # LookupError: KeyError (`!!bool maybe`) and IndexError (`!!float ''`)
        except (ValueError, TypeError, AttributeError, LookupError) as exc:
            raise _WrongTag(exc) from None

    return checked


for _tag in (_BOOL, _FLOAT, "tag:yaml.org,2002:timestamp"):
    _UniqueKeyLoader.add_constructor(_tag, _tag_checked(yaml.SafeLoader.yaml_constructors[_tag]))


#: The same loader (its resolvers, constructors and duplicate-key check) on libyaml's C parser where PyYAML has it:
#: ~10 times faster (the default config: ~25 ms -> ~3 ms per read, every command); without libyaml, the Python one.
_FastLoader: type = (
    type(
        "_FastLoader",
        (_UniqueKeys, yaml.CSafeLoader),
        {
            "yaml_implicit_resolvers": _UniqueKeyLoader.yaml_implicit_resolvers,
            "yaml_constructors": _UniqueKeyLoader.yaml_constructors,
        },
    )
    if getattr(yaml, "__with_libyaml__", False)
    else _UniqueKeyLoader
)
#: The deepest nesting read (a config or mapping has a few levels; the Python parser stops near 300, so both
#: parsers refuse the same files). libyaml's composer recurses in C: a document nested ~50,000 deep crashes the
#: process (a segmentation fault). Each collection has an indicator of its own (`[`, `{`, `-`, `?` or `:`): a text
#: with at most this many of them is nested no deeper; one with more has its depth measured first (libyaml's
#: events, no recursion).
MAX_DEPTH = 250


def _nested_too_deep(text: str) -> bool:
    """Whether `text` nests lists or mappings more than `MAX_DEPTH` deep (read until that depth, no further:
    libyaml's time grows with the square of the depth)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return False


def _load(text: str) -> Any:
    """`text` read by the C loader where there is one; a text it refuses is read again by the Python one, whose
    message shows the offending line (the C parser's names only its number). RecursionError: nested too deep."""
    if _FastLoader is not _UniqueKeyLoader:
        try:
            if sum(map(text.count, "[{-?:")) > MAX_DEPTH and _nested_too_deep(text):
                raise RecursionError(f"nested more than {MAX_DEPTH} deep")
            return yaml.load(text, Loader=_FastLoader)
        except yaml.YAMLError:
            pass
    return yaml.load(text, Loader=_UniqueKeyLoader)


#: The largest config or mapping read, in bytes: the product's own are a few KB; a mapping's `isin` of many ids stays
#: far below it.
MAX_YAML_BYTES = 4 << 20


#: How long a named pipe (FIFO) given as a config or mapping may stay silent before it is refused: a script
#: feeding the pipe sends its text at once. An anonymous pipe (`--config <(...)`) has no limit: it has its writer,
#: or ends.
FIFO_WAIT_SECONDS = 10.0


def _anonymous_pipe(path: Path) -> bool:
    """Whether `path` (`/dev/fd/N`, `/proc/self/fd/N`: a shell's process substitution) is an anonymous pipe, whose
    link reads `pipe:[inode]`: it was made with its writer, so reading it ends when the writer does."""
    try:
        return os.readlink(path).startswith("pipe:")
    except OSError:
        return False


def _read_bounded(path: Path, what: str) -> bytes:
    """At most one byte past `MAX_YAML_BYTES` of `path` (`/dev/zero`, a data dump, never ends). A named pipe
    (FIFO) is opened without waiting for a writer, then given `FIFO_WAIT_SECONDS` to send something: one nobody
    writes to is a `StructuralError` naming it (round 35, was: `--config pipe` blocked forever without a word, as
    reading a table given as a pipe did before `pipelines.table_files.check_file_kind`); a shell's process
    substitution (`--config <(sleep 12; cat x.yaml)`, an anonymous pipe with its writer) is read as before, however
    slow its writer (review of round 35: refused after 10 s)."""
    import stat

    try:
        fifo = stat.S_ISFIFO(path.stat().st_mode)
    except OSError:
        fifo = False  # not there, a broken link: `open` names it
    if not fifo or _anonymous_pipe(path):
        with open(path, "rb") as fh:
            return fh.read(MAX_YAML_BYTES + 1)
    import select

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP)
        if not poller.poll(FIFO_WAIT_SECONDS * 1000):
            raise StructuralError(
                f"{what} {path} is a named pipe (FIFO): nothing arrived in {FIFO_WAIT_SECONDS:g} s (no writer, or "
                f"a slower one): give the {what} as a file, or start what writes the pipe first"
            )
        os.set_blocking(fd, True)
        return fh.read(MAX_YAML_BYTES + 1)


def read_yaml(path: Path, what: str) -> Any:
    """The parsed content of a YAML file (safe loading: data only, never objects or code).

    A file that is not UTF-8, cannot be read or is not YAML, or writes a key twice in one mapping, is a
    `StructuralError` naming `what` (e.g. "config") and the file, with the offending byte for an encoding problem;
    so is one larger than `MAX_YAML_BYTES` (a device, a data dump given as the config), read no further.
    """
    try:
        raw = _read_bounded(Path(path), what)
        if len(raw) > MAX_YAML_BYTES:
            raise StructuralError(
                f"{what} {path} is larger than {MAX_YAML_BYTES >> 20} MB (a {what} holds a few KB): check the file "
                "is the one meant"
            )  # was: read whole, `--config /dev/zero` exit 1 `unexpected MemoryError`, a 300 MB file 24 s, 1.5 GB
        return _load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise StructuralError(
            f"{what} {path} is not UTF-8 text (byte {exc.start}: {exc.object[exc.start : exc.start + 1]!r}); "
            "save it as UTF-8"
        ) from None
    except _WrongTag as exc:  # a tag forcing a type: `!!float abc`, `!!timestamp x`, `!!bool maybe`
        raise StructuralError(
            f"cannot read {what} {path}: a value is tagged with a type (`!!float`, `!!timestamp`, ...) that it is "
            f"not ({exc.original}); remove the tag or write the value in that type"
        ) from None  # was: a bare ValueError, AttributeError or KeyError from PyYAML, a traceback
    # `[[[[...` or `{a: {a: ...` some hundreds deep: PyYAML's composer recurses once per level
    except RecursionError:
        raise StructuralError(
            f"cannot read {what} {path}: its lists or mappings are nested hundreds of levels deep (a {what} nests a "
            "few); check the file is the one meant"
        ) from None  # was: exit 1 `unexpected RecursionError` and a traceback log
    except (OSError, yaml.YAMLError) as exc:
        raise StructuralError(f"cannot read {what} {path}: {exc}") from exc


#: Suffixes of data files, never a config or mapping (`.json` is YAML, so it may be one).
DATA_SUFFIXES = (
    ".csv",
    ".tsv",
    ".parquet",
    ".pq",
    ".parq",
    ".xlsx",
    ".xls",
    ".gz",
    ".zip",
    ".bz2",
    ".xz",
    ".zst",
)


def read_yaml_settings(path: Path, what: str) -> Any:
    """`read_yaml` for a file the user named to change settings (`--config`, `--mapping`): a file holding no
    document (empty, only comments, or `null`) is a `StructuralError` naming it. Read as "no settings", it would
    run silently on the defaults (or no mapping) though the user meant the file to change them. So is a data file
    (`--mapping customers.csv`: was read as YAML text and printed whole, every customer's name and e-mail with
    it), a document that is not keys and values (its content not shown), and a config given as the mapping or the
    other way round (was: one "unknown key" per section)."""
    option = "--config" if what == "config" else "--mapping"
    if Path(path).suffix.lower() in DATA_SUFFIXES:  # `--mapping customers.csv`: an option taken for another
        raise StructuralError(
            f"{option} {path} names a data file ({Path(path).suffix}), not a {what} (YAML): give the table files' "
            f"directory as --data and a {what} YAML file as {option}"
            + (" (configs/datasets/*.yaml)" if what == "mapping" else "")
        )  # was: the whole file read as YAML text, printed: every customer's name, e-mail and phone
    data = read_yaml(path, what)
    if data is not None and not isinstance(data, dict):
        held = f"{len(data):,} characters of text" if isinstance(data, str) else f"a {type(data).__name__}"
        raise StructuralError(
            f"{what} {path} holds {held}, not settings (keys and values): a data or other file given as "
            f"{option}? Its content is not shown (it may be data)"
        )  # was (mapping): pydantic's "should be a valid dictionary (the file holds str '<the whole file>')"
    kinds = {"config": {"data", "features", "labels"}, "mapping": {"sources", "tables"}}  # their usual keys
    for name, keys in kinds.items():  # was: one "unknown key" per section of the other kind
        found = sorted(keys & set(data or {}))
        if name != what and found and not kinds.get(what, set()) & set(data or {}):
            raise StructuralError(
                f"{what} {path} is a {name} (it has {', '.join(found)}), given as {option}: give it as --{name}"
            )
    if data is None:
        raise StructuralError(
            f"{what} {path} holds no settings (it is empty, only comments or `null`): was it saved or copied "
            f"whole? Give a {what} with the settings meant, or leave the option out"
            + (" to use the defaults" if what == "config" else "")
        )
    return data
