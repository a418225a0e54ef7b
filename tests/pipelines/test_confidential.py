"""Personal data, the whole class: the example rows of a stop show only the contract's non-personal columns (a
whitelist, `features.names.shown_in_messages`), never a column of a real export that no list of personal names
foresees (`first_name`, `Vorname`, `mobile`, `street`, `iban`, `dob`, `notes`...).

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import pandas as pd
import pytest

from features.validation import StructuralError, validate_tables
from pipelines.io import load_data
from tests.helpers import raw_orders

#: Columns real exports carry beside the contract ones; every value holds the marker `ZQ`.
EXTRA = (
    "first_name",
    "last_name",
    "Vorname",
    "contact",
    "mobile",
    "street",
    "city",
    "postcode",
    "birth_date",
    "dob",
    "iban",
    "ssn",
    "tax_id",
    "ip_address",
    "notes",
    "comment",
)


def _extra(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(**{c: [f"ZQ-{c}-{i}" for i in range(len(frame))] for c in EXTRA})


def _orders(n: int = 6) -> pd.DataFrame:
    return raw_orders(n, first_day=2)


def _customers(n: int = 6) -> pd.DataFrame:
    return _extra(pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)]}))


STOPS = {  # `features.validation`: the stops on a raw table, which print its first rows
    "missing-column": (  # a required column missing
        {"customers": _customers().rename(columns={"customer_id": "client"})},
        "table 'customers' is missing required column(s) customer_id",
    ),
    "written-otherwise": (  # a contract column written otherwise
        {"customers": _customers().rename(columns={"customer_id": "Customer ID"})},
        "table 'customers': column(s) named like contract columns",
    ),
    "twins": (  # two columns named alike
        {"customers": _customers().assign(**{"Customer_ID": [f"C{i}" for i in range(6)]})},
        "table 'customers': 'Customer_ID' beside 'customer_id'",
    ),
}


@pytest.mark.parametrize("case", list(STOPS))
def test_the_example_rows_of_a_stop_show_no_column_outside_the_contract(case):
    """Was: the rows printed every column but `name`, `email`, `phone`, `address` (a blacklist): the first names,
    IBANs, birth dates and notes of five customers in the terminal and the batch log. The contract's columns are still
    shown."""
    tables, message = STOPS[case]
    with pytest.raises(StructuralError) as err:
        validate_tables({"orders": _orders(), **tables})
    text = str(err.value)
    assert text.startswith(message), text
    assert "not shown" in text and "ZQ" not in text, text
    if case != "missing-column":  # `client` is no contract column: its ids are not shown either
        assert "C1" in text, text


def test_a_ragged_line_is_cut_before_the_first_column_outside_the_contract(tmp_path):
    """Was: a ragged customers line printed up to the first `name`/`email`/... column only: `first_name`, `iban`
    and the rest of the line were shown."""
    data = tmp_path / "data"
    data.mkdir()
    _orders().to_csv(data / "orders.csv", index=False)
    header = "customer_id,signup_at,first_name,iban,email\n"
    lines = [f"C{i},2023-01-01,ZQ-Ann{i},ZQ-DE{i},a{i}@x.example" for i in range(6)]
    lines[2] += ",extra"
    (data / "customers.csv").write_text(header + "\n".join(lines) + "\n")
    with pytest.raises(StructuralError, match="rows do not match the header") as err:
        load_data(data)
    text = str(err.value)
    assert "C2,2023-01-01" in text and "not shown" in text, text
    assert "ZQ" not in text, text


def test_a_currency_column_still_shows_its_codes():
    """The currency check's example rows keep the column it judged (not a contract column), nothing else."""
    from features.currency import check_currency_columns

    orders = _extra(_orders()).assign(currency=["EUR", "USD", "EUR", "EUR", "EUR", "EUR"])
    with pytest.raises(StructuralError) as err:
        check_currency_columns({"orders": orders}, "EUR")
    text = str(err.value)
    assert "USD" in text.split("Example rows:")[1] and "ZQ" not in text, text


def test_the_training_run_logs_no_customer_manager_or_personal_value(trained):
    """Everything `cvp train` leaves in MLflow (params, tags, metrics, the documents, backtest files and plots, the
    model, its signature and input example, the store's database) holds no customer id, manager id, name, e-mail,
    phone or address of the data it was trained on."""
    import re

    from tests.pipelines.conftest import PRISTINE

    tables = {n: pd.read_parquet(trained.data / f"{n}.parquet") for n in ("customers", "account_managers")}
    values = set(tables["customers"]["customer_id"]) | set(tables["account_managers"]["account_manager_id"])
    for frame in tables.values():
        for column in ("name", "email", "phone", "address"):
            if column in frame:
                values |= set(frame[column].dropna().astype(str))
    assert len(values) > 1000
    found = re.compile(b"|".join(re.escape(v.encode()) for v in sorted(values, key=len, reverse=True)))
    store = trained.root / PRISTINE  # the registry as trained, before any test added to it
    files = [p for p in store.rglob("*") if p.is_file()]
    assert any(p.name == "input_example.json" for p in files) and any(p.suffix == ".db" for p in files)
    for path in files:
        hit = found.search(path.read_bytes())
        assert hit is None, (path.relative_to(store), hit and hit[0])


def test_arrows_own_ragged_message_is_shown_without_its_line(tmp_path, monkeypatch):
    """When the second pass that lists the ragged rows finds none, Arrow's own message is shown: it quoted the whole
    line (was: `Expected 3 columns, got 4: C1,2023-01-01,ZQ-Ann,ZQ-DE1`, first name and IBAN included)."""
    import pipelines.csv_reading as csv_reading

    data = tmp_path / "data"
    data.mkdir()
    _orders().to_csv(data / "orders.csv", index=False)
    (data / "customers.csv").write_text("customer_id,signup_at,first_name\nC1,2023-01-01,ZQ-Ann,ZQ-DE1\n")
    monkeypatch.setattr(csv_reading, "ragged_rows_error", lambda path, convert=None: None)
    with pytest.raises(StructuralError, match="columns, got 4") as err:
        load_data(data)
    assert "ZQ" not in str(err.value), str(err.value)
