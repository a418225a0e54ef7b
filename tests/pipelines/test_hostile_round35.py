"""Hostile input classes closed in the thirty-fifth hunt: a side table whose export stopped a year before the
orders, said by `cvp validate` too; a config or mapping given as a named pipe nobody writes to. Tiny hand-written
files; no training, no model, no Spark session."""

from __future__ import annotations

import os
import threading

import pandas as pd
import pytest
from rich.console import Console

from features.validation import StructuralError


def _write_orders_and_tickets(data, tickets_until: str) -> None:
    """Two orders a day over 2022-2023 (1,460) and a ticket a day until `tickets_until`, as CSV tables."""
    days = pd.date_range("2022-01-01", "2023-12-31", freq="D")
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}-{k}" for i in range(len(days)) for k in range(2)],
            "customer_id": [f"C{(i + k) % 40}" for i in range(len(days)) for k in range(2)],
            "ordered_at": [f"{d.date()} 1{k}:00" for d in days for k in range(2)],
            "revenue": "25.00",
        }
    )
    ticket_days = days[days <= tickets_until]
    tickets = pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(len(ticket_days))],
            "customer_id": [f"C{i % 40}" for i in range(len(ticket_days))],
            "opened_at": [f"{d.date()} 09:00" for d in ticket_days],
            "effort_minutes": "30",
        }
    )
    data.mkdir(exist_ok=True)
    orders.to_csv(data / "orders.csv", index=False)
    tickets.to_csv(data / "tickets.csv", index=False)


def _validate(data) -> str:
    """What `cvp validate --data data` prints (exit 0 when it returns)."""
    from pipelines.jobs import run_validate

    console = Console(record=True, width=400)
    run_validate(data, None, None, None, console)
    return " ".join(console.export_text().split())  # the console's wrapping undone


def test_validate_warns_of_a_side_table_that_stopped_a_year_before_the_orders(tmp_path):
    """Tickets ending on 2022-12-31, the orders running on through 2023 (a help desk's export that stopped, a
    tickets file of last year left in the folder). Was: `cvp validate` exit 0 without a word (its counts all
    accepted), only `cvp score` / `train` / `backtest` warned, so the check a user runs first passed such data.
    Now `cvp validate` warns as they do, judged as of the day after the last order, the as-of they default to
    (`pipelines.jobs.say_export_stops`, calling `pipelines.training_stops.export_stops`: one rule,
    `pipelines.data_age.stopped_inputs`). Tickets that run on to the end get no warning."""
    _write_orders_and_tickets(tmp_path / "stopped", "2022-12-31")
    said = _validate(tmp_path / "stopped")
    assert "warning: tickets.opened_at ends on 2022-12-31, 365 days before --as-of 2024-01-01" in said
    assert "export the missing tickets rows" in said
    _write_orders_and_tickets(tmp_path / "whole", "2023-12-31")
    assert "warning" not in _validate(tmp_path / "whole")


def test_validate_judges_no_stop_when_the_as_of_cannot_be_defaulted(tmp_path):
    """An order dated after today: the later commands ask for an `--as-of` (exit 2 there); `cvp validate` shows its
    counts and does not stop, nor judge the tables against a 2098 end."""
    _write_orders_and_tickets(tmp_path, "2022-12-31")
    with open(tmp_path / "orders.csv", "a") as fh:
        fh.write("O-late,C1,2098-01-05 10:00,25.00\n")
    said = _validate(tmp_path)
    assert "1,461 │ 1,461" in said and "warning: tickets" not in said


def test_a_config_given_as_a_pipe_nobody_writes_to_is_refused(tmp_path, monkeypatch):
    """`--config pipe` (or `--mapping pipe`): a named pipe (FIFO) no process writes to. Was: `open` waited for a
    writer forever, the command hung without a word. Now a structural error after `FIFO_WAIT_SECONDS` (10 s)
    naming the file (`pipelines.yamlfile._read_bounded`, under `read_yaml`, which every config and mapping goes
    through). A pipe with its writer (a shell's `--config <(...)`) is read as before."""
    from pipelines import yamlfile

    monkeypatch.setattr(yamlfile, "FIFO_WAIT_SECONDS", 0.2, raising=False)
    fifo = tmp_path / "cfg.yaml"
    os.mkfifo(fifo)
    outcome: list[object] = []

    def read() -> None:
        try:
            outcome.append(yamlfile.read_yaml(fifo, "config"))
        except StructuralError as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    hung = reader.is_alive()
    if hung:  # main's reader waits in `open` for a writer: give it one, so the thread ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5)
    assert not hung, "read_yaml waited for a writer of the pipe"
    assert isinstance(outcome[0], StructuralError)
    assert "is a named pipe (FIFO) nothing was written to" in str(outcome[0])
    r, w = os.pipe()  # what `--config <(...)` gives: a pipe its writer fills
    os.write(w, b"labels: {horizon_days: 90}\n")
    os.close(w)
    try:
        assert yamlfile.read_yaml(f"/dev/fd/{r}", "config") == {"labels": {"horizon_days": 90}}
    finally:
        os.close(r)


@pytest.fixture(autouse=True)
def _no_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
