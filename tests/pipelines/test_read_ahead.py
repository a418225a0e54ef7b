"""The data directory's files read ahead on a background thread while the tables already read are validated
(issue 14, `pipelines.read_ahead`): same tables, and the same error first, as when every file was read first."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import pipelines.read_ahead as read_ahead
from features.validation import StructuralError
from pipelines.io import load_data
from pipelines.read_ahead import ReadAhead

ORDERS = "order_id,customer_id,ordered_at,revenue\no1,007,2023-01-02,10\no2,008,2023-01-03,20\n"


def _files(names: list[str]) -> dict[str, Path]:
    return {name: Path(f"{name}.csv") for name in names}


def test_the_next_file_is_read_on_another_thread_before_it_is_asked_for(monkeypatch):
    monkeypatch.setattr(read_ahead, "prediction_threads", lambda: 2)
    b_read = threading.Event()
    threads: dict[str, str] = {}

    def read(path: Path) -> str:
        threads[path.stem] = threading.current_thread().name
        if path.stem == "b":
            b_read.set()
        return path.stem

    checked: list[tuple[str, str]] = []
    tables = ReadAhead(_files(["a", "b"]), read, lambda name, frame: checked.append((name, frame)))
    try:
        assert tables["a"] == "a"
        assert b_read.wait(10), "b was not read ahead while the caller held a"
        assert checked == [("a", "a")]  # b is checked only when it is asked for
        assert tables["b"] == "b"
    finally:
        tables.close()
    assert checked == [("a", "a"), ("b", "b")]
    assert set(threads.values()) != {threading.current_thread().name}
    assert list(tables) == ["a", "b"] and len(tables) == 2 and "b" in tables and "c" not in tables


def test_on_one_thread_each_file_is_read_when_asked_for(monkeypatch):
    monkeypatch.setattr(read_ahead, "prediction_threads", lambda: 1)
    read_names: list[str] = []

    def read(path: Path) -> str:
        assert threading.current_thread() is threading.main_thread()
        read_names.append(path.stem)
        return path.stem

    tables = ReadAhead(_files(["a", "b", "c"]), read, lambda name, frame: None)
    assert tables["a"] == "a" and read_names == ["a"]
    assert "c" in tables and read_names == ["a"]  # asking whether a table is there reads nothing
    assert tables["c"] == "c" and read_names == ["a", "b", "c"]  # in order


def two_cpus(monkeypatch) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)


def _data(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    for name, text in files.items():
        (data / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    return data


def test_an_unreadable_later_file_stops_before_an_earlier_tables_validation_error(tmp_path):
    # customers (read and validated first) lacks its key; tickets, read last, is not UTF-8
    data = _data(
        tmp_path,
        {
            "customers.csv": "name\nx\n",
            "orders.csv": ORDERS,
            "tickets.csv": "ticket_id,customer_id,opened_at\nt1,Zo\xeb,2023-01-02\n".encode("latin-1"),
        },
    )
    with pytest.raises(StructuralError, match=r"tickets\.csv: not UTF-8"):
        load_data(data, currency="EUR")


def test_a_later_tables_currency_stops_before_an_earlier_tables_validation_error(tmp_path):
    usd = ORDERS.replace("revenue\n", "revenue,currency\n").replace("0\n", "0,USD\n")
    data = _data(tmp_path, {"customers.csv": "name\nx\n", "orders.csv": usd})
    with pytest.raises(StructuralError, match=r"table 'orders', column 'currency': amounts in USD"):
        load_data(data, currency="EUR")
    (data / "orders.csv").write_text(ORDERS)  # then the validation's own error
    with pytest.raises(StructuralError, match=r"table 'customers' is missing required column"):
        load_data(data, currency="EUR")


def test_the_tables_read_ahead_equal_the_tables_read_on_one_thread(tmp_path, monkeypatch):
    data = _data(
        tmp_path,
        {
            "customers.csv": "customer_id,signup_date\n007,2022-12-01\n008,2022-12-02\n",
            "orders.csv": ORDERS + "o3,009,2023-01-04,5\n",  # 009: unknown customer, rejected
        },
    )
    monkeypatch.setattr(read_ahead, "prediction_threads", lambda: 2)
    two = load_data(data, currency="EUR")
    monkeypatch.setattr(read_ahead, "prediction_threads", lambda: 1)
    one = load_data(data, currency="EUR")
    assert set(two.tables) == set(one.tables) == {"customers", "orders"}
    for name in one.tables:
        assert two.tables[name].equals(one.tables[name])
        assert two.result.rejects[name].equals(one.result.rejects[name])
    assert one.result.report["orders"].rejected == 1


def test_cvp_score_reads_the_files_while_the_model_is_loaded(trained, tmp_path, monkeypatch):
    """With two CPUs `run_score` starts reading the data files before MLflow is imported and the model loaded
    (they need no data): the model load waits here until a file is being read, which a run that reads the data
    only after the model never does."""
    import pipelines.io as io_module
    import pipelines.tracking as tracking_module
    from tests.pipelines.score_helpers import score_trained

    reading = threading.Event()
    read, load = io_module.read_file, tracking_module.load_bundle

    def spied_read(path):
        reading.set()
        return read(path)

    def waiting_load(*args, **kwargs):
        assert reading.wait(timeout=60), "no data file was read while the model was loaded"
        return load(*args, **kwargs)

    monkeypatch.setattr(io_module, "read_file", spied_read)
    monkeypatch.setattr(tracking_module, "load_bundle", waiting_load)
    two_cpus(monkeypatch)
    run = score_trained(trained, tmp_path / "s.parquet")
    assert run.manifest["customers_scored"] > 0


def test_a_model_that_cannot_be_loaded_is_reported_before_an_unreadable_file(trained, tmp_path, monkeypatch):
    import shutil

    from tests.pipelines.score_helpers import score_trained

    data = tmp_path / "data"
    shutil.copytree(trained.data, data)
    orders = next(p for p in data.iterdir() if p.stem == "orders")
    orders.write_bytes(b"\x00not a table\xff" * 100)
    two_cpus(monkeypatch)
    before = {t.ident for t in threading.enumerate()}
    with pytest.raises(StructuralError) as stopped:
        score_trained(trained, tmp_path / "s.parquet", data=data, model_uri="models:/no-such-model@champion")
    assert "no-such-model" in str(stopped.value) and "orders" not in str(stopped.value)
    assert {t.ident for t in threading.enumerate()} <= before  # the reads stopped with the run
    with pytest.raises(StructuralError, match=r"cannot read .*orders"):  # the model found: the file's error
        score_trained(trained, tmp_path / "s.parquet", data=data)
