"""Reading the product's own YAML files (configs, mappings): UTF-8 text, safe loading, clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from features.errors import StructuralError


def read_yaml(path: Path, what: str) -> Any:
    """The parsed content of a YAML file (`yaml.safe_load`: data only, never objects or code).

    A file that is not UTF-8, cannot be read or is not YAML is a `StructuralError` naming `what` (e.g. "config")
    and the file, with the offending byte for an encoding problem.
    """
    try:
        return yaml.safe_load(Path(path).read_bytes().decode("utf-8"))
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
