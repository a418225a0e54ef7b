"""Hostile input classes closed in the thirteenth hunt. Tiny hand-written tables; no training, no model."""

from __future__ import annotations

import stat

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.validation import StructuralError, validate_tables
from pipelines.cli import app
from tests.helpers import PLANTED, fail_parsing_revenue, raw_orders
from tests.helpers import csv_data as _data
from tests.pipelines.test_hostile_round14 import UNIX_REASON


def test_an_unexpected_error_quoting_a_cell_shows_the_place_not_the_value(tmp_path, monkeypatch):
    """An unexpected error inside the validation whose message quotes a cell (pandas' `could not convert string
    to float: 'ann.smith@example.com'`): was printed as the error's first line, into terminals and batch logs.
    Now the line names the command, table, column and code line; the message is in the log, readable by the user
    only, which says it may hold data; `--verbose` says so before its traceback."""
    fail_parsing_revenue(monkeypatch)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    monkeypatch.delenv("CVP_DEBUG", raising=False)
    data = _data(tmp_path, orders=raw_orders(3).assign(revenue=[PLANTED, "1", "2"]))
    res = CliRunner().invoke(app, ["validate", "--data", str(data)])
    assert res.exit_code == 1, res.output
    assert PLANTED not in res.output and "ann.smith" not in res.output
    assert (
        "unexpected ValueError: in cvp validate, table 'orders', column 'revenue', at features/" in res.output
    )
    assert "may quote values of your data" in res.output
    (log,) = (tmp_path / "cvp").glob("error-*.log")
    assert PLANTED in log.read_text() and "may quote values of your data" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    res = CliRunner().invoke(app, ["--verbose", "validate", "--data", str(data)])
    assert isinstance(res.exception, ValueError) and "the traceback below: it may quote" in res.output


def _ids(*numbers: int) -> list[str]:
    return [f"C{i:06d}" for i in numbers]


#: Customers and referrals dated against each other's signups (`features.referral_rules.SIGNUP_RULES`): referral 1
#: and 5 before their referrer signed up, 2 after its referred customer had, 3 by an unknown referrer (also after
#: its referred's signup: the first reason wins); 0 and 4 kept (4 ten hours after its referred's signup: a day of
#: slack). Shared with `tests/pipelines/test_spark_stops.py`.
SIGNUP_CUSTOMERS = pd.DataFrame(
    {
        "customer_id": _ids(1, 2, 3, 4, 5, 6, 7, 8),
        "signup_at": ["2023-01-01", "2024-02-01", "2023-01-01", "2023-05-01", "2024-03-01", "2024-04-01",
                      "2024-06-01", "2024-06-01"],
    }
)  # fmt: skip
SIGNUP_REFERRALS = pd.DataFrame(
    {
        "referrer_id": _ids(1, 7, 3, 9, 1, 8),
        "referred_id": _ids(2, 5, 4, 1, 6, 3),
        "referred_at": [
            "2024-01-20",
            "2024-01-10",
            "2024-02-01",
            "2024-02-01",
            "2024-04-01 10:00",
            "2022-06-01",
        ],
    }
)  # fmt: skip
BEFORE_REFERRER = "referred_at before the referrer's signup_at (a day earlier or more: not a customer yet)"
AFTER_REFERRED = (
    "referred_at after the referred customer's signup_at (a day later or more: a customer already)"
)
SIGNUP_REASONS = [BEFORE_REFERRER, AFTER_REFERRED, "unknown referrer_id", BEFORE_REFERRER]


def _signupraw_orders() -> pd.DataFrame:
    return raw_orders(6).assign(customer_id=_ids(1, 2, 3, 4, 5, 6), ordered_at="2024-05-01")


def test_a_referral_dated_before_its_referrer_signed_up_or_after_its_referred_had_is_rejected():
    """A referral dated before the referrer's own `signup_at` (not a customer yet), or after the referred
    customer's (a customer already, whom the referral cannot have brought: their profit before it counted in the
    referrer's referred profit): was accepted, exit 0. Now row rejects, a day of slack (a date without its
    time); a customer without `signup_at` judges nothing."""
    res = validate_tables(
        {"orders": _signupraw_orders(), "customers": SIGNUP_CUSTOMERS, "referrals": SIGNUP_REFERRALS}
    )
    rejects = res.rejects["referrals"]
    assert rejects["source_row"].tolist() == [1, 2, 3, 5]
    assert rejects["reason"].tolist() == SIGNUP_REASONS
    assert res.tables["referrals"]["referred_id"].tolist() == _ids(2, 6)


def test_most_referrals_dated_after_their_referred_customers_signup_is_structural():
    """An export whose `referred_at` is another date (the referred customer's first order, a reward paid), on
    more than half of the referrals: each rejected one by one, the referrals table would be lost with exit 0."""
    late = SIGNUP_REFERRALS.iloc[[0, 2, 4]].assign(referred_at=["2024-03-01", "2024-03-01", "2024-05-01"])
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": _signupraw_orders(), "customers": SIGNUP_CUSTOMERS, "referrals": late})
    assert str(got.value).startswith(
        "table 'referrals', column 'referred_at': 3 of the 3 referrals are dated after the referred customer's "
        "signup_at (a day or more)"
    )


def test_an_as_of_after_today_is_refused_naming_it_and_the_last_order(tmp_path):
    """`--as-of 2090-01-01` (a mistyped year, a script's date run ahead): was judged only by the stale-data rule
    (`cvp score --allow-stale` scored every customer lapsed; `cvp features` built the table, exit 0, every
    customer 24,000 days without an order). Now exit 2 naming the as-of, today and the last order, whatever
    `--allow-stale` (`pipelines.loading.check_after_first_order`, every command with an as-of)."""
    from pipelines.loading import check_after_first_order

    data = _data(tmp_path, orders=raw_orders(30))
    out = tmp_path / "f.parquet"
    res = CliRunner().invoke(
        app, ["features", "--data", str(data), "--as-of", "2090-01-01", "--out", str(out)]
    )
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "--as-of 2090-01-01 is after today (" in text and "the last order (2023-01-28)" in text
    assert "the day after the last order, 2023-01-29" in text and not out.exists()
    tables = {"orders": validate_tables({"orders": raw_orders(30)}).tables["orders"]}
    today = pd.Timestamp.now().normalize()
    assert (
        check_after_first_order(tables, today + pd.Timedelta(days=1), "score") is not None
    )  # tomorrow: fine


@pytest.mark.parametrize("words", [("WAAR", "ONWAAR"), ("ja", "nein"), ("oui", "non"), ("vero", "falso")])
def test_true_false_in_another_language_on_part_of_a_column_is_structural(words):
    """A true/false column (`orders.promo`) written in another language on part of its rows (two exports put
    together): was each such row rejected `unparseable promo`, exit 0, up to half of the orders and their revenue
    dropped for an optional flag (the stop came only above half). Now on 1% of the column and 10 rows a
    structural error naming the values and what to export; fewer (typos) stay row rejects."""
    orders = raw_orders(300)
    part = orders.assign(promo=[words[i % 2] if i < 90 else "true" for i in range(300)])
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": part})
    assert str(got.value).startswith(
        f"table 'orders', column 'promo': 90 of 300 values do not parse as true/false ({words[0]!r}, "
        f"{words[1]!r}): rejected, those rows would be dropped. True/false columns take true/false"
    )
    few = orders.assign(promo=[words[0] if i < 9 else "false" for i in range(300)])
    assert validate_tables({"orders": few}).report["orders"].rejected_by_reason == {"unparseable promo": 9}


@pytest.mark.parametrize("form", ["(12.50)", "12.50-", "( 1,234.50 )", "7 -"])
def test_negatives_in_an_accounting_format_are_named_and_stop_on_1_percent(form):
    """Refunds or amounts written as a ledger or SAP writes negatives (`(12.50)`, `12.50-`) on part of a column:
    was each an `unparseable amount` reject, exit 0, up to half of the column (the demo's returns with 10% so
    written lost 10% of their refunds; the stop came only above half). Now on 1% of the column (3 rows) a
    structural error saying what they are; a stray one a reject naming the form (`_OTHER_FORMS`)."""
    n = 300
    returns = pd.DataFrame(
        {
            "return_id": [f"R{i}" for i in range(n)],
            "customer_id": [f"C{i}" for i in range(n)],
            "returned_at": ["2023-02-01"] * n,
            "amount": [form if i < 30 else "5" for i in range(n)],
        }
    )
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": raw_orders(n), "returns": returns})
    assert str(got.value).startswith(
        "table 'returns', column 'amount': 30 of 300 values are negative numbers in an accounting format "
        f"((12.50) or 12.50-: parentheses or a trailing minus) ({form.strip()!r}): rejecting these rows"
    )
    stray = returns.assign(amount=[form if i == 3 else "5" for i in range(n)])
    res = validate_tables({"orders": raw_orders(n), "returns": stray})
    assert res.report["returns"].rejected_by_reason == {
        "negative number in an accounting format in amount ((12.50), 12.50-)": 1
    }


LOOKALIKE = (
    "a Cyrillic or Greek letter drawn like a Latin one in customer_id (Cyrillic С for Latin C: a lookalike)"
)


def test_an_id_with_a_cyrillic_or_greek_lookalike_letter_is_rejected_not_another_customer():
    """`С000001` with a Cyrillic `С` (U+0421) among ids `C000001` (a letter pasted from elsewhere, a keyboard
    layout): was accepted as another customer printed exactly like the first (without a customers table: one
    customer's orders split in two, both scored and reported under one printed id). Now a row reject, as an
    invisible character in an id is; an id of another script (`Клиент42`, `Ωmega`) is kept."""
    orders = raw_orders(6).assign(
        customer_id=[
            "C000001",
            "\u0421000001",
            "C00000\u0399",
            "\u041a\u043b\u0438\u0435\u043d\u044242",
            "Ωmega",
            "C6",
        ]
    )
    res = validate_tables({"orders": orders})
    assert res.report["orders"].rejected_by_reason == {LOOKALIKE: 2}
    assert res.rejects["orders"]["source_row"].tolist() == [1, 2]
    assert res.tables["orders"]["customer_id"].tolist() == ["C000001", "Клиент42", "Ωmega", "C6"]


def test_the_header_again_in_another_column_order_inside_a_file_is_structural(tmp_path):
    """Two exports put together, the second with its columns in another order (`...,cost,revenue,...`): was one
    reject for its header line (`ambiguous or unknown date format`, or none) and every row after it read under
    the first header's names, exit 0: the demo with its last 1,020 orders so appended had their cost taken for
    revenue. Now a structural error naming both orders; the header repeated in its own order stays a reject."""
    header = "order_id,customer_id,ordered_at,revenue,cost\n"
    rows = "".join(f"O{i},C{i},2023-01-{i + 1:02d},{20 + i},{10 + i}\n" for i in range(6))
    again = "order_id,customer_id,ordered_at,cost,revenue\nO9,C9,2023-02-01,10,20\n"
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text(header + rows + again, encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", "--data", str(data)])
    assert res.exit_code == 2, res.output
    assert " ".join(res.output.split()).startswith(
        "error: table 'orders': a line inside the file is the header again with its columns in another order "
        "(order_id, customer_id, ordered_at, cost, revenue; the first line: order_id, customer_id, ordered_at, "
        "revenue, cost)"
    )
    (data / "orders.csv").write_text(header + rows + header + rows.replace("O", "P"), encoding="utf-8")
    res = CliRunner().invoke(app, ["validate", "--data", str(data)])
    assert res.exit_code == 0 and "the header line repeated" in res.output, res.output


def test_customers_ordering_after_their_churned_at_on_1_percent_is_structural():
    """A customers export keeping the cancellation of customers who came back (`churned_at` 2022, orders through
    2024): was exit 0, each `cancelled` from 2022 on, not scored and left out of training while buying (the demo
    with 40 such customers: 12 accepted so, the others rejected `churned_at before signup_at`). Now on 1% of
    the customers (3 or more) a structural error naming them; fewer are read as given."""
    orders = raw_orders(300).assign(customer_id=[f"C{i % 100}" for i in range(300)], ordered_at="2024-03-01")
    customers = pd.DataFrame({"customer_id": [f"C{i}" for i in range(100)], "churned_at": [""] * 100})
    stale = customers.assign(churned_at=["2022-06-01" if i < 3 else "" for i in range(100)])
    with pytest.raises(StructuralError) as got:
        validate_tables({"orders": orders, "customers": stale})
    assert str(got.value).startswith(
        "table 'customers', column 'churned_at': 3 of the 100 customers have an order dated a day or more after "
        "their churned_at"
    )
    assert "2024-03-01" in str(got.value) and "C0 " in str(got.value)
    two = customers.assign(churned_at=["2022-06-01" if i < 2 else "" for i in range(100)])
    assert validate_tables({"orders": orders, "customers": two}).report["customers"].accepted == 100
    # an order the day of the cancellation, or before it, is the data
    same_day = customers.assign(churned_at=["2024-03-01 12:00" if i < 3 else "" for i in range(100)])
    assert validate_tables({"orders": orders, "customers": same_day}).report["customers"].accepted == 100


def test_the_date_rules_across_customers_judge_nothing_without_dates():
    """Customers whose `signup_at` and `churned_at` columns are empty throughout, beside referrals (and a customer
    without an order): nothing judged, no error (the rules map ids to dates; an empty map gave floats)."""
    customers = pd.DataFrame({"customer_id": _ids(1, 2, 3), "signup_at": [""] * 3, "churned_at": [""] * 3})
    referrals = pd.DataFrame({"referrer_id": _ids(1), "referred_id": _ids(2), "referred_at": ["2023-01-01"]})
    orders = raw_orders(2).assign(customer_id=_ids(1, 2))
    res = validate_tables({"orders": orders, "customers": customers, "referrals": referrals})
    assert res.report["referrals"].accepted == 1 and res.report["customers"].accepted == 3


def _tickets(ratings: list[str]) -> pd.DataFrame:
    n = len(ratings)
    return pd.DataFrame(
        {
            "ticket_id": [f"T{i}" for i in range(n)],
            "customer_id": [f"C{i % 4}" for i in range(n)],
            "opened_at": ["2023-01-05"] * n,
            "effort_minutes": ["10"] * n,
            "satisfaction": ratings,
        }
    )


def test_half_point_ratings_have_their_own_reason_and_stop_as_another_scale_does():
    """`4.5` on the 1-5 scale (a half-point survey, an average of two ratings): was each ticket rejected
    `satisfaction outside 1-5` (a rating inside 1-5), exit 0, their effort lost with them. Now its own reason, and
    on the other-scale rule's share (5% of the ratings, 3 rows: `features.conventions.SCALE_SHARE`) a stop."""
    res = validate_tables({"orders": raw_orders(4), "tickets": _tickets(["4"] * 40 + ["4.5", "7", "0.5"])})
    assert res.report["tickets"].rejected_by_reason == {
        "satisfaction not a whole number of the 1-5 scale (4.5)": 1,
        "satisfaction outside 1-5": 2,  # 7 and 0.5 are outside, whatever their fraction
    }
    halves = ["4", "4.5", "3.5", "5", "2.5", "4", "4.5", "3"] * 5  # 20 of 40 half points
    with pytest.raises(
        StructuralError, match=r"20 of 40 ratings not whole numbers of the 1-5 scale \(4.5, 3.5"
    ):
        validate_tables({"orders": raw_orders(4), "tickets": _tickets(halves)})
    with pytest.raises(StructuralError, match=r"3 of 43 ratings not whole"):  # 3 rows and 5%: the first stop
        validate_tables({"orders": raw_orders(4), "tickets": _tickets(["4"] * 40 + ["4.5"] * 3)})


@pytest.mark.parametrize(
    ("value", "unit"), [("1704067200", "seconds"), ("1704067200000", "milliseconds")], ids=["s", "ms"]
)
def test_a_date_column_of_unix_time_stops_naming_the_form(tmp_path, value, unit):
    """Unix time in a date column (a database's or an API's timestamp as a number): throughout, was the generic
    'no value parses as a date' with the ISO hint only; on 5 of 100 rows, each rejected 'ambiguous or unknown
    date format', exit 0. Now both stop naming Unix time and the first value's date, as serial days do
    (`features.numeric_dates.numeric_dates_hint`, `EPOCH_SECONDS`, `EPOCH_MILLIS`); a stray one stays a reject."""
    said = rf"Unix time in {unit} since 1970-01-01 UTC \({value} is 2024-01-01 00:00:00 UTC\)"
    orders = raw_orders(100)
    with pytest.raises(StructuralError, match=rf"no value parses as a date .*{said}"):
        validate_tables({"orders": orders.assign(ordered_at=value)})
    part = orders.assign(ordered_at=[value] * 5 + orders["ordered_at"].tolist()[5:])
    with pytest.raises(StructuralError, match=rf"5 of 100 values are dates written in another form .*{said}"):
        validate_tables({"orders": part})
    one = orders.assign(ordered_at=[value] + orders["ordered_at"].tolist()[1:])
    reasons = validate_tables({"orders": one}).report["orders"].rejected_by_reason
    assert reasons == {UNIX_REASON: 1}  # round 14: its own reason (was: `ambiguous or unknown date format`)
    # a Parquet integer column of them: the type's stop says what the numbers look like
    orders.assign(ordered_at=int(value)).to_parquet(tmp_path / "orders.parquet")
    with pytest.raises(StructuralError, match=rf"holds numbers \(int64\).*{said}"):
        validate_tables({"orders": pd.read_parquet(tmp_path / "orders.parquet")})


#: Managers with their dates: AM1 there 2022-2023 (left), AM2 from 2023 on, AM3 without dates.
MANAGERS = pd.DataFrame(
    {
        "account_manager_id": ["AM1", "AM2", "AM3"],
        "started_at": ["2022-01-01", "2023-01-01", ""],
        "left_at": ["2023-06-30", "", ""],
    }
)

#: Assignments against `MANAGERS` dates (`features.manager_checks.TENURE_RULES`): rows 2 and 3 rejected. Shared with
#: `tests/pipelines/test_spark_stops.py`.
TENURE_ROWS = [
    ("AM1", "2022-03-01"),  # kept: while there
    ("AM1", "2023-06-30 18:00"),  # kept: the day they left
    ("AM1", "2023-08-01"),  # after AM1 left
    ("AM2", "2022-12-01"),  # before AM2 started
    ("AM2", "2022-12-31 09:00"),  # kept: within a day
    ("AM3", "2020-01-01"),  # kept: AM3's dates unknown
]


def _assignments(rows: list[tuple[str, str]], customers: list[str] | None = None) -> pd.DataFrame:
    customers = customers or [f"C{i}" for i in range(4)]
    return pd.DataFrame(
        {
            "customer_id": [customers[i % len(customers)] for i in range(len(rows))],
            "account_manager_id": [m for m, _ in rows],
            "assigned_at": [d for _, d in rows],
        }
    )


def test_an_assignment_after_its_manager_left_or_before_they_started_is_rejected():
    """A customer assigned to a manager a day or more after the manager's `left_at` (from then owned by someone
    gone) or before their `started_at` (not there yet): was accepted, exit 0. Now row rejects
    (`features.manager_checks.TENURE_RULES`, a day of slack), and a stop when one rejects most assignments."""
    data = {"orders": raw_orders(4), "account_managers": MANAGERS, "assignments": _assignments(TENURE_ROWS)}
    res = validate_tables(data)
    assert res.report["assignments"].rejected_by_reason == {
        "assigned_at after its manager's left_at (a day later or more: the manager had left)": 1,
        "assigned_at before its manager's started_at (a day earlier or more: not there yet)": 1,
    }
    assert res.rejects["assignments"]["source_row"].tolist() == [2, 3]
    late = [("AM1", "2024-01-01")] * 3 + [("AM2", "2024-01-01")] * 2  # 3 of 5 after AM1 left: a stop
    data["assignments"] = _assignments(late)
    with pytest.raises(
        StructuralError, match=r"3 of the 5 assignments are dated after their manager's left_at"
    ):
        validate_tables(data)
