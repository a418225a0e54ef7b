"""`pipelines.yamlfile` reads configs and mappings with libyaml's C parser where PyYAML has it (~7 times faster:
the default config ~47 ms -> ~6 ms per read), with the Python loader's rules and messages unchanged."""

from __future__ import annotations

import pytest
import yaml

from features.validation import StructuralError

#: YAML 1.2's core types only, anchors, merge keys, dates, tags forcing a type
SAMPLE = (
    "a: No\nb: 030\nc: 1:30\nd: [1, .5, 0x5A, On, true, FALSE, 1_000.5, .inf, -7]\ne: &x {k: 1}\nf: *x\n"
    "g: 2021-01-01\nh: {<<: *x, m: 2}\ni: !!str 12\nj: ~\n"
)


def test_the_c_loader_reads_as_the_python_loader():
    from pipelines import yamlfile

    if yaml.__with_libyaml__:
        assert issubclass(yamlfile._FastLoader, yaml.CSafeLoader)
    fast, pure = (
        yaml.load(SAMPLE, Loader=loader) for loader in (yamlfile._FastLoader, yamlfile._UniqueKeyLoader)
    )
    assert fast == pure
    assert pure["a"] == "No" and pure["b"] == 30 and pure["c"] == "1:30" and pure["h"] == {"k": 1, "m": 2}


def test_a_refused_file_shows_its_line_and_a_deep_one_is_named(tmp_path):
    """The C parser's messages name the line without showing it: a file it refuses is read again by the Python
    loader, whose message shows it. A file nested tens of thousands deep would crash the C parser (a segmentation
    fault): its depth is measured first and refused by name (was: the Python parser's RecursionError, a traceback)."""
    from pipelines.yamlfile import read_yaml

    twice = tmp_path / "twice.yaml"
    twice.write_text("a: 1\na: 2\n")
    with pytest.raises(
        StructuralError, match=r"key 'a' is written twice[\s\S]*line 2, column 1:\n    a: 2\n    \^"
    ):
        read_yaml(twice, "config")
    deep = tmp_path / "deep.yaml"
    deep.write_text("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(
        StructuralError,
        match=r"config .*deep\.yaml: its lists or mappings are nested hundreds of levels deep",
    ):
        read_yaml(deep, "config")
