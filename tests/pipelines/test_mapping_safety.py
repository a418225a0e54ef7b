"""The mapping expression language is a small safe language: nothing outside it runs, sources stay in --data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.validation import StructuralError
from pipelines.cli import app
from pipelines.io import load_data
from pipelines.mapping import apply_mapping, load_mapping

runner = CliRunner()

LINES = pd.DataFrame(
    {
        "InvoiceNo": ["1", "2", "C3", "4"],
        "CustomerID": ["a", "b", "a", "c"],
        "InvoiceDate": ["2023-01-02", "2023-01-03", "2023-01-04", "2023-01-05"],
        "Quantity": [2, 1, -1, 3],
        "UnitPrice": [1.5, 2.0, 1.5, 1.0],
        "channel": ["web", "shop", "web", "web"],
    }
)


def _mapping(
    tmp_path: Path, where: str, derive: str = "Quantity * UnitPrice", file: str = "lines.parquet"
) -> Path:
    text = f"""
sources:
  lines: {{file: {file!r}}}
tables:
  orders:
    source: lines
    where: {where!r}
    require: {{customer_id: CustomerID}}
    derive: {{line_revenue: {derive!r}}}
    columns:
      order_id: InvoiceNo
      customer_id: CustomerID
      ordered_at: InvoiceDate
      revenue: line_revenue
"""
    p = tmp_path / "m.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def _data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir(exist_ok=True)
    LINES.to_csv(d / "lines.csv", index=False)
    LINES.to_parquet(d / "lines.parquet", index=False)
    return d


HOSTILE = [
    "@pd.io.common.os.system('touch PWNED')",
    "InvoiceNo.__class__.__init__.__globals__",
    "Quantity.__class__",
    "__import__('os').system('touch PWNED')",
    "Quantity.apply(print)",
    "InvoiceNo.str.startswith('C').__invert__()",
    "Quantity.to_csv('PWNED')",
    "(lambda: 1)()",
    "[x for x in Quantity]",
    "Quantity ** 10",
    "Quantity[0]",
    "InvoiceNo.str.match('C.*')",
    "open('PWNED', 'w')",
]


@pytest.mark.parametrize("expr", HOSTILE)
def test_expressions_outside_the_language_are_refused_with_their_key(tmp_path, expr, monkeypatch):
    monkeypatch.chdir(tmp_path)
    m = _mapping(tmp_path, "~InvoiceNo.str.startswith('C')", derive=expr)
    with pytest.raises(StructuralError, match=r"tables\.orders\.derive\.line_revenue") as info:
        load_mapping(m)
    assert "refused" in str(info.value)
    assert not (tmp_path / "PWNED").exists()


def test_cli_exits_2_naming_the_key_and_part_and_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = _data(tmp_path)
    m = _mapping(tmp_path, "~InvoiceNo.str.startswith('C')", derive="Quantity.to_csv('PWNED')")
    res = runner.invoke(app, ["validate", "--data", str(data), "--mapping", str(m)])
    assert res.exit_code == 2, res.output
    assert "tables.orders.derive.line_revenue" in res.output
    assert "to_csv" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "PWNED").exists()


def test_where_must_be_boolean(tmp_path):
    data = _data(tmp_path)
    with pytest.raises(StructuralError, match=r"tables\.orders\.where.*true/false"):
        load_data(data, _mapping(tmp_path, "channel"))


def test_a_where_that_is_not_true_false_shows_none_of_its_values(tmp_path):
    """Was: `(e.g. ['ann@secret.example', ...])`, the first values of the source column the `where` named (an
    e-mail column outside the contract) in the terminal and the batch log."""
    data = _data(tmp_path)
    LINES.assign(Email=[f"ann{i}@secret.example" for i in range(len(LINES))]).to_parquet(
        data / "lines.parquet"
    )
    with pytest.raises(StructuralError, match=r"tables\.orders\.where.*true/false") as err:
        load_data(data, _mapping(tmp_path, "Email"))
    assert "secret" not in str(err.value), str(err.value)


def test_a_column_that_should_hold_numbers_shows_its_values_only_when_a_contract_column(tmp_path):
    """Was: up to five values of the column, whatever it was: a `sum` over a source column outside the contract
    (here `Notes`, a customer's words) printed them to the terminal and the batch log. Now counts only; the values
    of a non-personal contract column (`Quantity`) are still shown."""
    data = _data(tmp_path)
    notes = [f"call Ann on 0170 555 01{i}" for i in range(len(LINES))]
    LINES.assign(Notes=notes).astype(str).to_parquet(data / "lines.parquet")
    with pytest.raises(StructuralError, match=r"needs numbers.*'Notes'.*4 value\(s\), 4 distinct") as err:
        load_data(data, _mapping(tmp_path, "Quantity > 0", "Notes * UnitPrice"))
    assert "Ann" not in str(err.value), str(err.value)
    LINES.assign(Quantity=["2", "1", "two", "3"]).astype(str).to_parquet(data / "lines.parquet")
    with pytest.raises(StructuralError, match=r"needs numbers.*'Quantity'.*'two'"):
        load_data(data, _mapping(tmp_path, "Quantity > 0"))


def test_allowed_language_evaluates_like_pandas(tmp_path):
    data = _data(tmp_path)
    mapping = load_mapping(
        _mapping(
            tmp_path, "~InvoiceNo.str.startswith('C') and (channel.str.upper() == 'WEB' or Quantity > 2)"
        )
    )
    tables, rejects, report = apply_mapping(
        mapping, {"lines": pd.read_csv(data / "lines.csv", dtype={"InvoiceNo": str})}
    )
    assert tables["orders"]["order_id"].tolist() == ["1", "4"]
    assert tables["orders"]["revenue"].tolist() == [3.0, 3.0]
    assert report["lines"]["not routed by the mapping"] == 2
    assert rejects["lines"]["source_row"].tolist() == [1, 2]


def test_contains_is_literal_not_regex(tmp_path):
    data = _data(tmp_path)
    # two of the four lines routed (a filter leaving out most rows stops: test_mapping_round11)
    mapping = load_mapping(_mapping(tmp_path, "InvoiceNo.str.contains('.') | InvoiceNo.isin(['2', '4'])"))
    tables, _, _ = apply_mapping(mapping, {"lines": pd.read_parquet(data / "lines.parquet")})
    assert tables["orders"]["order_id"].tolist() == ["2", "4"]  # '.' is a dot, not "any character"


@pytest.mark.parametrize("file", ["/etc/passwd", "../outside.csv", "sub/../../outside.csv", "~/x.csv"])
def test_sources_outside_data_are_refused(tmp_path, file):
    with pytest.raises(StructuralError, match="relative to --data"):
        load_mapping(_mapping(tmp_path, "Quantity > 0", file=file))


def test_symlink_escaping_data_is_refused(tmp_path):
    data = _data(tmp_path)
    outside = tmp_path / "secret.csv"
    LINES.to_parquet(outside, index=False)
    (data / "link.parquet").symlink_to(outside)
    with pytest.raises(StructuralError, match="outside the data directory"):
        load_data(data, _mapping(tmp_path, "Quantity > 0", file="link.parquet"))


def test_non_utf8_mapping_is_a_clear_error(tmp_path):
    p = tmp_path / "m.yaml"
    p.write_bytes("description: caf\xe9\n".encode("latin-1"))
    res = runner.invoke(app, ["validate", "--data", str(_data(tmp_path)), "--mapping", str(p)])
    assert res.exit_code == 2, res.output
    assert "not UTF-8" in res.output and "Traceback" not in res.output
