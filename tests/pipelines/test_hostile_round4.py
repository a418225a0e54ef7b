"""Hostile input classes closed in the fourth hunt: an empty `--config` or `--mapping`, ... Tiny hand-written
tables and files; no training unless a test says so."""

from __future__ import annotations

import pytest

from features.validation import StructuralError


@pytest.mark.parametrize("text", ["", "# my settings\n# horizon 90\n", "null\n", "---\n"])
def test_an_empty_config_or_mapping_file_is_refused_naming_it_not_read_as_the_defaults(tmp_path, text):
    """A user who passes `--config` means it: a file saved empty or holding only comments or `null` (was: the
    defaults, silently: a 365-day horizon where 90 was meant) exits 2 naming the file. The same for `--mapping`
    (was: pydantic's multi-line report `1 validation error for Mapping ... Input should be a valid dictionary ...
    For further information visit https://errors.pydantic.dev/...`)."""
    from pipelines.config import load_config
    from pipelines.mapping import load_mapping

    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(
        StructuralError, match=r"config .*mine\.yaml holds no settings .*leave the option out"
    ):
        load_config(path)
    with pytest.raises(StructuralError, match=r"mapping .*mine\.yaml holds no settings"):
        load_mapping(path)


def test_an_invalid_mapping_is_one_line_per_key_not_pydantics_report(tmp_path):
    from pipelines.mapping import load_mapping

    path = tmp_path / "map.yaml"
    path.write_text(
        "sources: {lines: {file: x.csv}}\ntables:\n  orders:\n    source: lines\n    renam: {a: b}\n"
    )
    with pytest.raises(StructuralError) as err:
        load_mapping(path)
    message = str(err.value)
    assert (
        "tables.orders.renam: unknown key" in message and "tables.orders.columns: Field required" in message
    )
    assert "\n" not in message and "pydantic" not in message
