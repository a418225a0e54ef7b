"""Reading the product's own YAML files (configs, mappings): UTF-8 text, safe loading, clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from features.errors import StructuralError


class _UniqueKeyLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` refusing a key written twice in one mapping (PyYAML keeps the last silently: a config
    with `horizon_days: 90` then `horizon_days: 365` ran on 365). Merge keys (`<<: *defaults`) still override."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
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


def read_yaml(path: Path, what: str) -> Any:
    """The parsed content of a YAML file (safe loading: data only, never objects or code).

    A file that is not UTF-8, cannot be read or is not YAML, or writes a key twice in one mapping, is a
    `StructuralError` naming `what` (e.g. "config") and the file, with the offending byte for an encoding problem.
    """
    try:
        return yaml.load(Path(path).read_bytes().decode("utf-8"), Loader=_UniqueKeyLoader)
    except UnicodeDecodeError as exc:
        raise StructuralError(
            f"{what} {path} is not UTF-8 text (byte {exc.start}: {exc.object[exc.start : exc.start + 1]!r}); "
            "save it as UTF-8"
        ) from None
    except (OSError, yaml.YAMLError) as exc:
        raise StructuralError(f"cannot read {what} {path}: {exc}") from exc


def read_yaml_settings(path: Path, what: str) -> Any:
    """`read_yaml` for a file the user named to change settings (`--config`, `--mapping`): a file holding no
    document (empty, only comments, or `null`) is a `StructuralError` naming it. Read as "no settings", it would
    run silently on the defaults (or no mapping) though the user meant the file to change them."""
    data = read_yaml(path, what)
    if data is None:
        raise StructuralError(
            f"{what} {path} holds no settings (it is empty, only comments or `null`): was it saved or copied "
            f"whole? Give a {what} with the settings meant, or leave the option out"
            + (" to use the defaults" if what == "config" else "")
        )
    return data
