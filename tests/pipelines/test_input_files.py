"""Reading sloppy files and failing early: BOMs, encodings, separators, ragged rows, duplicate headers, misnamed
files, rich markup in data, unwritable outputs, bad dates on the command line, unexpected errors, CSV injection."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.io import neutralise_formulas, write_frame

runner = CliRunner()

HEADER = "order_id,customer_id,ordered_at,revenue\n"
ROWS = "o1,007,2023-01-02,10\no2,008,2023-01-03,20\n"


def _data(tmp_path: Path, text: str | bytes = HEADER + ROWS, name: str = "orders.csv") -> Path:
    d = tmp_path / "data"
    d.mkdir(parents=True, exist_ok=True)
    p = d / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return d


def _validate(data: Path, *extra: str):
    return runner.invoke(app, ["validate", "--data", str(data), *extra])


def test_utf8_bom_is_stripped_and_ids_keep_leading_zeros(tmp_path):
    data = _data(tmp_path, b"\xef\xbb\xbf" + (HEADER + ROWS).encode())
    rej = tmp_path / "rej"
    res = _validate(data, "--rejects", str(rej))
    assert res.exit_code == 0, res.output
    assert "no rejected rows" in res.output


def test_non_utf8_file_names_file_and_byte(tmp_path):
    data = _data(tmp_path, (HEADER + "o1,007,2023-01-02,10\no2,Zo\xeb,2023-01-03,20\n").encode("latin-1"))
    res = _validate(data)
    assert res.exit_code == 2, res.output
    assert "orders.csv" in res.output and "not UTF-8" in res.output and "byte 66" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_or_tab_separated_file_is_refused_not_misread(tmp_path, sep):
    data = _data(tmp_path, (HEADER + ROWS).replace(",", sep))
    res = _validate(data)
    assert res.exit_code == 2, res.output
    assert "comma-separated" in res.output


def test_ragged_row_is_a_clear_error(tmp_path):
    res = _validate(_data(tmp_path, HEADER + "o1,007,2023-01-02,10,extra,more\n"))
    assert res.exit_code == 2, res.output
    assert "do not match the header" in res.output and "Traceback" not in res.output


def test_duplicate_header_is_structural(tmp_path):
    res = _validate(_data(tmp_path, "order_id,customer_id,ordered_at,revenue,revenue\no1,1,2023-01-02,1,2\n"))
    assert res.exit_code == 2, res.output
    assert "duplicate column name(s) revenue" in res.output


@pytest.mark.parametrize("name", ["Customers.csv", "returns.CSV"])
def test_case_mismatched_table_file_is_structural(tmp_path, name):
    data = _data(tmp_path)
    (data / name).write_text("customer_id\n007\n", encoding="utf-8")
    res = _validate(data)
    assert res.exit_code == 2, res.output
    assert "case-sensitive" in res.output and name in res.output


def test_unknown_files_and_ignored_columns_are_listed_with_did_you_mean(tmp_path):
    data = _data(tmp_path, HEADER.replace("\n", ",Costs\n") + "o1,007,2023-01-02,10,3\n")
    (data / "ticket.csv").write_text("ticket_id\n1\n", encoding="utf-8")
    (data / "orders.txt").write_text("x\n", encoding="utf-8")
    res = _validate(data)
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "Costs (did you mean cost?)" in out
    assert "file ticket.csv is not a contract table and is not read (did you mean tickets.csv?)" in out
    assert "file orders.txt is not a contract table" in out


def test_rich_markup_in_data_is_shown_as_written(tmp_path):
    # every value unparseable: the structural message quotes the data rows
    data = _data(tmp_path, HEADER + "o1,007,[bold]x[/],10\no2,008,[/],20\n")
    res = _validate(data)
    assert res.exit_code == 2, res.output
    assert "[bold]x[/]" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("as_of", ["", "garbage", "2023-02-30", "9999-01-01"])
def test_bad_as_of_exits_2(tmp_path, as_of):
    res = runner.invoke(
        app,
        ["features", "--data", str(_data(tmp_path)), "--as-of", as_of, "--out", str(tmp_path / "f.parquet")],
    )
    assert res.exit_code == 2, res.output
    assert "--as-of" in res.output and "Traceback" not in res.output


def test_generate_start_after_end_exits_2(tmp_path):
    res = runner.invoke(
        app, ["generate", "--out", str(tmp_path / "g"), "--start", "2024-01-01", "--end", "2023-01-01"]
    )
    assert res.exit_code == 2, res.output
    assert "must be before --end" in res.output


def test_unwritable_rejects_dir_fails_before_loading(tmp_path):
    blocker = (
        tmp_path / "blocker"
    )  # a file where the rejects directory's parent must be: unwritable even for root
    blocker.write_text("x")
    res = _validate(_data(tmp_path), "--rejects", str(blocker / "rej"))
    assert res.exit_code == 2 and "rejects directory" in res.output, res.output
    assert "Validation" not in res.output and "Traceback" not in res.output


def test_output_that_is_a_directory_fails_before_loading(tmp_path):
    out = tmp_path / "f.parquet"
    out.mkdir()
    res = runner.invoke(
        app, ["features", "--data", str(_data(tmp_path)), "--as-of", "2023-02-01", "--out", str(out)]
    )
    assert res.exit_code == 2, res.output
    assert "is a directory" in res.output and "Validation" not in res.output  # before any loading
    rej = tmp_path / "rej.csv"
    rej.write_text("a file where a directory must be", encoding="utf-8")
    res = _validate(_data(tmp_path), "--rejects", str(rej))
    assert res.exit_code == 2 and "rejects directory" in res.output and "Validation" not in res.output


def test_unexpected_error_prints_one_line_and_a_log_path(tmp_path, monkeypatch):
    import pipelines.jobs

    def boom(*a, **k):
        raise RuntimeError("something odd\nsecond line")

    monkeypatch.setattr(pipelines.jobs, "run_validate", boom)
    monkeypatch.delenv("CVP_DEBUG", raising=False)
    res = _validate(_data(tmp_path))
    assert res.exit_code == 1
    # the message may quote the data: in the log only, the line names the command and the code line
    assert "unexpected RuntimeError: in cvp validate" in res.output and "something odd" not in res.output
    assert "Traceback" not in res.output
    log = Path(res.output.split("the full traceback is in ")[1].split()[0])
    assert "Traceback" in log.read_text() and "second line" in log.read_text()
    log.unlink()
    res = runner.invoke(app, ["--verbose", "validate", "--data", str(_data(tmp_path))])
    assert isinstance(res.exception, RuntimeError)  # --verbose keeps the traceback


def test_an_unexpected_errors_line_escapes_control_characters(tmp_path, monkeypatch):
    """The one line of an unexpected error may quote data (a value, a file name): its escape sequences are shown,
    not run by the terminal, as in a StructuralError's message (was: printed raw). A message that may quote a
    cell is not shown at all (`test_hostile_round13`); one that names a file (an `OSError`) is, escaped."""
    import pipelines.jobs

    def boom(*a, **k):
        raise OSError("bad value \x1b[2J\u202eevil")

    monkeypatch.setattr(pipelines.jobs, "run_validate", boom)
    monkeypatch.delenv("CVP_DEBUG", raising=False)
    res = _validate(_data(tmp_path))
    assert res.exit_code == 1 and "\x1b" not in res.output and "\u202e" not in res.output
    assert "bad value \\x1b[2J\\u202eevil" in res.output
    Path(res.output.split("the full traceback is in ")[1].split()[0]).unlink()


def test_csv_outputs_neutralise_formulas_in_text_only(tmp_path):
    frame = pd.DataFrame(
        {
            "customer_id": ['=HYPERLINK("x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "-5", "007", None],
            "value": [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
        }
    )
    path = write_frame(frame, tmp_path / "s.csv")
    back = pd.read_csv(path, dtype={"customer_id": str}, keep_default_na=False)
    assert back["customer_id"].tolist() == [
        '\'=HYPERLINK("x")',
        "'+1+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "-5",
        "007",
        "",
    ]
    assert back["value"].tolist() == frame["value"].tolist()  # numbers untouched, -1.0 stays a number
    assert neutralise_formulas(frame.iloc[5:]) is not None
    write_frame(frame, tmp_path / "s.parquet")
    assert (
        pd.read_parquet(tmp_path / "s.parquet")["customer_id"].iloc[0] == '=HYPERLINK("x")'
    )  # Parquet as is


@pytest.mark.parametrize(
    "rows",
    [
        "o1,007,2023-01-02\n",  # a short row: pandas filled the missing revenue with nothing, silently
        "o1,007,2023-01-02,10\no2,008\n",
        'o1,007,"2023-01-02,10\no2,008,2023-01-03,20\n',  # an unterminated quote swallowing a line
    ],
)
def test_rows_with_fewer_fields_than_the_header_are_structural_not_padded(tmp_path, rows):
    res = _validate(_data(tmp_path, HEADER + rows))
    assert res.exit_code == 2, res.output
    assert "do not match the header (4 columns)" in res.output and "fields:" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_any_line_ending_reads_the_same_rows(tmp_path, newline):
    from pipelines.io import read_file

    unix = read_file(_data(tmp_path / "unix", HEADER + ROWS) / "orders.csv")
    other = read_file(_data(tmp_path / "other", (HEADER + ROWS).replace("\n", newline)) / "orders.csv")
    assert unix["customer_id"].tolist() == ["007", "008"]
    pd.testing.assert_frame_equal(other, unix)


@pytest.mark.parametrize(
    ("payload", "what"),
    [(b"", "the file is empty"), ((HEADER + ROWS).encode("utf-16"), "is UTF-16 text (its first bytes)")],
)
def test_empty_and_other_encodings_are_named(tmp_path, payload, what):
    res = _validate(_data(tmp_path, payload))
    assert res.exit_code == 2, res.output
    assert what in res.output and "Traceback" not in res.output


def test_parquet_whose_pandas_metadata_contradicts_its_columns_is_read_by_its_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = pd.DataFrame(
        {
            "order_id": ["o1", "o2"],
            "customer_id": ["c1", "c2"],
            "ordered_at": ["2023-01-02"] * 2,
            "revenue": [1.0, 2.0],
            "promo": pd.array([True, False], dtype="boolean"),
        }
    )
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # another tool rewrote `promo` as 0/1 integers and kept the pandas metadata saying "boolean"
    table = table.set_column(4, "promo", pa.array([1, 7], pa.int8()))
    d = tmp_path / "data"
    d.mkdir()
    pq.write_table(table, d / "orders.parquet")
    rej = tmp_path / "rej"
    res = _validate(d, "--rejects", str(rej))
    assert res.exit_code == 0, res.output
    assert "unparseable promo: 1" in res.output


def test_a_table_file_given_as_the_data_directory_says_so(tmp_path):
    data = _data(tmp_path)
    res = _validate(data / "orders.csv")
    assert res.exit_code == 2, res.output
    assert "is a file" in res.output and "does not exist" not in res.output


def test_csv_opening_with_more_than_64_kib_of_blank_lines_is_not_empty(tmp_path):
    """`check_not_empty` (the Spark engine's one-file tables) read 64 KiB only: such a file was "the file is
    empty" on Spark while the pandas engine reads its rows."""
    from pipelines.io import StructuralError, check_not_empty, read_file

    path = _data(tmp_path, "\n" * 70_000 + HEADER + ROWS) / "orders.csv"
    check_not_empty(path)  # no StructuralError
    assert read_file(path)["customer_id"].tolist() == ["007", "008"]
    blank = tmp_path / "blank.csv"
    blank.write_bytes(b"\xef\xbb\xbf" + b" \r\n" * 30_000)
    with pytest.raises(StructuralError, match="the file is empty"):
        check_not_empty(blank)
