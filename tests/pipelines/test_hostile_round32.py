"""Hostile input classes closed in the thirty-second hunt: a CSV header longer than the blocks its readers take
(a file of 100,000 columns: a wide export of attributes), a header line without a line end after it (a table of
no rows written by `printf` or a writer that ends no line). Tiny hand-written files; no training, no model, no
Spark session (the Spark engine's header check is the same `check_csv_header`)."""

from __future__ import annotations

import pytest

from features.validation import StructuralError
from pipelines.csv_reading import check_csv_header, read_csv_text

_ORDERS = "order_id,customer_id,ordered_at,revenue"


def _write(path, names: list[str]):
    """An orders file of two rows with `names` as empty columns outside the contract."""
    empty = "," * len(names)
    path.write_text(
        f"{_ORDERS},{','.join(names)}\nO1,C1,2023-01-05,10{empty}\nO2,C2,2023-01-06,20{empty}\n",
        encoding="utf-8",
    )
    return path


def test_a_header_longer_than_64_kb_is_not_taken_for_one_naming_a_column_twice(tmp_path):
    """The header check read the header's first 64 KB and took the name cut at its end (`x1` of `x10`) for a
    second `x1`. Was: exit 2 `orders.csv: duplicate column name(s) x1 in the header` on a file of 100,000
    columns `x0` ... `x99999` (`cvp validate`, the demo's tickets so widened), every name given once; now the cut
    name is left to Arrow's reading of the whole header, which is checked too (a real duplicate still stops)."""
    head = f"{_ORDERS},x1,"
    filler = "f" * ((1 << 16) - 2 - len(head) - 1)  # `x10` starts 2 bytes before the 64 KB end
    path = _write(tmp_path / "orders.csv", ["x1", filler, "x10", "x2"])
    assert path.read_bytes()[(1 << 16) - 2 : (1 << 16) + 1] == b"x10"
    header = check_csv_header(path)
    assert header[:5] == [*_ORDERS.split(","), "x1"] and len(set(header)) == len(header)
    frame = read_csv_text(path)
    assert frame.shape == (2, 8) and list(frame.columns[-2:]) == ["x10", "x2"]
    twice = tmp_path / "twice.csv"
    twice.write_text(path.read_text(encoding="utf-8").replace(",x2\n", ",x10\n", 1), encoding="utf-8")
    with pytest.raises(StructuralError, match=r"duplicate column name\(s\) x10"):
        read_csv_text(twice)


def test_a_header_longer_than_arrows_block_is_read_in_larger_blocks(tmp_path):
    """A header of more than 1 MiB (100,000 columns named `extra_attribute_000001`, ...): Arrow's reader says
    "Empty CSV file or block" of a header longer than its block, not "straddling". Was: exit 2 `cannot read
    tickets.csv: no header row could be read (an unterminated quote in the header runs to the end of the file?)`;
    now read in larger blocks as a longer row already was."""
    path = _write(tmp_path / "orders.csv", [f"{i:04d}" + "a" * 700 for i in range(1500)])
    assert len(path.read_bytes().split(b"\n")[0]) > 1 << 20
    frame = read_csv_text(path)
    assert frame.shape == (2, 1504) and list(frame["revenue"]) == ["10", "20"]


@pytest.mark.parametrize(
    "text",
    [_ORDERS, "\ufeff" + _ORDERS, '"order_id","customer_id","ordered_at","revenue"'],
    ids=["plain", "bom", "quoted"],
)
def test_a_header_without_a_line_end_is_a_table_of_no_rows(tmp_path, text):
    """A header line alone, without a line end after it. Arrow reads no header there ("Empty CSV file"). Was: exit
    2 `cannot read orders.csv: no header row could be read (an unterminated quote in the header runs to the end of
    the file?)`: a quote no line holds; now the file's columns and no row, as with the line end (then the stop
    a table of no rows gets: `features.validation`'s "has no usable row")."""
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    frame = read_csv_text(path)
    assert list(frame.columns) == _ORDERS.split(",") and len(frame) == 0
    assert all(str(t) in ("object", "string", "str") for t in frame.dtypes)


@pytest.mark.parametrize("text", ['"order_id,customer_id', "order_id;customer_id;ordered_at"])
def test_a_quote_left_open_or_another_separator_keep_their_stops(tmp_path, text):
    from pipelines.io import read_file

    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StructuralError, match="unterminated quote|separated by semicolons"):
        read_file(path)
