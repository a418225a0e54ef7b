"""Tests for the synthetic demo company generator (pipelines/demo/).

Three layers: determinism (frames and file bytes), the data contract (columns, dtypes, keys, time order,
referential integrity; also as a hypothesis property over sizes, windows and seeds), and realism checks that
the observable tables reflect the latent truth the way the domain brief says they should.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.contract import TICKET_KINDS
from pipelines.demo import ARCHETYPES, TABLE_NAMES, DemoCompany, generate_company, write_company

START = pd.Timestamp("2021-01-01")
END = pd.Timestamp("2025-12-31")
N = 4000
SEED = 7

CONTRACT_COLUMNS = {
    "orders": [
        "order_id",
        "customer_id",
        "ordered_at",
        "revenue",
        "cost",
        "discount",
        "promo",
        "quantity",
        "channel",
    ],
    "returns": ["return_id", "customer_id", "order_id", "returned_at", "amount", "reason"],
    "tickets": [
        "ticket_id",
        "customer_id",
        "opened_at",
        "closed_at",
        "kind",
        "effort_minutes",
        "escalated",
        "satisfaction",
    ],
    "invoices": ["invoice_id", "customer_id", "issued_at", "due_at", "paid_at", "amount", "disputed"],
    "referrals": ["referrer_id", "referred_id", "referred_at"],
    "customers": [
        "customer_id",
        "signup_at",
        "segment",
        "size",
        "region",
        "acquisition_channel",
        "acquisition_cost",
        "account_manager_id",
        "churned_at",
        "name",
        "email",
        "phone",
    ],
    "account_managers": ["account_manager_id", "name", "started_at", "left_at"],
}
ID_COLUMNS = {
    "orders": ("order_id", r"O\d{8}"),
    "returns": ("return_id", r"R\d{8}"),
    "tickets": ("ticket_id", r"T\d{8}"),
    "invoices": ("invoice_id", r"I\d{8}"),
    "customers": ("customer_id", r"C\d{6}"),
    "account_managers": ("account_manager_id", r"AM\d{4}"),
}
EVENT_COLUMNS = {
    "orders": ["ordered_at"],
    "returns": ["returned_at"],
    "tickets": ["opened_at", "closed_at"],
    "invoices": ["issued_at", "paid_at"],
    "referrals": ["referred_at"],
    "customers": ["signup_at", "churned_at"],
    "account_managers": ["started_at", "left_at"],
}


@pytest.fixture(scope="module")
def company() -> DemoCompany:
    return generate_company(N, START, END, SEED)


def _check_contract(company: DemoCompany, start: pd.Timestamp, end: pd.Timestamp) -> None:
    """Every contract invariant the generator promises; shared by the fixed and the property test."""
    t = company.tables
    assert set(t) == set(TABLE_NAMES)
    for name, columns in CONTRACT_COLUMNS.items():
        frame = t[name]
        assert list(frame.columns) == columns, name
        for column in columns:
            dtype = frame[column].dtype
            if column.endswith("_at"):
                assert dtype == "datetime64[ns]", (name, column)
            elif column in ("promo", "escalated", "disputed"):
                assert dtype == "boolean", (name, column)
            elif column in (
                "revenue",
                "cost",
                "discount",
                "quantity",
                "amount",
                "effort_minutes",
                "satisfaction",
                "acquisition_cost",
            ):
                assert dtype == "float64", (name, column)
            else:
                assert dtype == "str", (name, column)
    for name, (column, pattern) in ID_COLUMNS.items():
        ids = t[name][column]
        assert ids.is_unique, name
        assert ids.str.fullmatch(pattern).all(), name

    customers = t["customers"].set_index("customer_id")
    known = customers.index
    for name in ("orders", "returns", "tickets", "invoices"):
        assert t[name]["customer_id"].isin(known).all(), name
    assert customers["account_manager_id"].isin(t["account_managers"]["account_manager_id"]).all()

    for name, columns in EVENT_COLUMNS.items():
        for column in columns:
            values = t[name][column].dropna()
            assert ((values >= start) & (values <= end)).all(), (name, column)

    orders, invoices = t["orders"], t["invoices"]
    assert (orders["revenue"] >= 0).all() and (orders["cost"] >= 0).all() and (orders["discount"] >= 0).all()
    assert (orders["quantity"] > 0).all()
    assert orders["ordered_at"].is_monotonic_increasing
    first_order = orders.groupby("customer_id")["ordered_at"].min()
    assert (first_order >= customers.loc[first_order.index, "signup_at"]).all()

    # One invoice per order, issued at the order, due 30 days later, paid (if at all) after issue.
    assert len(invoices) == len(orders)
    np.testing.assert_array_equal(invoices["customer_id"].to_numpy(), orders["customer_id"].to_numpy())
    np.testing.assert_array_equal(invoices["issued_at"].to_numpy(), orders["ordered_at"].to_numpy())
    np.testing.assert_array_equal(invoices["amount"].to_numpy(), orders["revenue"].to_numpy())
    assert (invoices["due_at"] - invoices["issued_at"] == pd.Timedelta(days=30)).all()
    paid = invoices.dropna(subset=["paid_at"])
    assert (paid["paid_at"] >= paid["issued_at"]).all()

    returns = t["returns"]
    assert (returns["amount"] > 0).all()
    returned_order = orders.set_index("order_id").loc[returns["order_id"]]
    np.testing.assert_array_equal(returned_order["customer_id"].to_numpy(), returns["customer_id"].to_numpy())
    assert (returns["returned_at"].to_numpy() >= returned_order["ordered_at"].to_numpy()).all()
    assert (returns["amount"].to_numpy() <= returned_order["revenue"].to_numpy()).all()

    tickets = t["tickets"]
    assert (tickets["effort_minutes"] >= 0).all()
    closed = tickets.dropna(subset=["closed_at"])
    assert (closed["closed_at"] >= closed["opened_at"]).all()
    assert tickets["kind"].isin(TICKET_KINDS).all()
    satisfaction = tickets["satisfaction"].dropna()
    assert satisfaction.isin([1.0, 2.0, 3.0, 4.0, 5.0]).all()

    referrals = t["referrals"]
    assert (referrals["referrer_id"] != referrals["referred_id"]).all()
    assert referrals["referrer_id"].isin(known).all() and referrals["referred_id"].isin(known).all()
    assert referrals["referred_id"].is_unique  # a customer is acquired once
    referred_signup = customers.loc[referrals["referred_id"], "signup_at"].to_numpy()
    referrer_signup = customers.loc[referrals["referrer_id"], "signup_at"].to_numpy()
    assert (referred_signup >= referrals["referred_at"].to_numpy()).all()
    assert (referrer_signup <= referrals["referred_at"].to_numpy()).all()

    churned = customers.dropna(subset=["churned_at"])
    assert (churned["churned_at"] >= churned["signup_at"]).all()
    last_order = orders.groupby("customer_id")["ordered_at"].max()
    after = last_order.reindex(churned.index).dropna()
    assert (after <= churned.loc[after.index, "churned_at"]).all()

    managers = t["account_managers"].dropna(subset=["left_at"])
    assert (managers["left_at"] >= managers["started_at"]).all()

    truth = company.truth
    np.testing.assert_array_equal(truth["customer_id"].to_numpy(), t["customers"]["customer_id"].to_numpy())
    assert truth["archetype"].isin(ARCHETYPES).all()
    # Orders stop at the latent churn time.
    churn_at = truth.set_index("customer_id")["churn_at"]
    assert (last_order <= churn_at.loc[last_order.index]).all()


# ---------------------------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_frames(company: DemoCompany) -> None:
    again = generate_company(N, START, END, SEED)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(company.tables[name], again.tables[name], check_exact=True)
    pd.testing.assert_frame_equal(company.truth, again.truth, check_exact=True)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_seed_gives_byte_identical_files(tmp_path: Path, fmt: str) -> None:
    first = write_company(generate_company(600, START, END, 3), tmp_path / "a", fmt=fmt)
    second = write_company(generate_company(600, START, END, 3), tmp_path / "b", fmt=fmt)
    assert set(first) == {*TABLE_NAMES, "_truth", "_profile_drivers"}
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes(), name
    assert first["orders"].name == f"orders.{fmt}"
    assert first["_truth"] == tmp_path / "a" / "_truth" / "truth.parquet"


def test_different_seed_gives_different_data(company: DemoCompany) -> None:
    other = generate_company(N, START, END, SEED + 1)
    assert (
        not company.tables["orders"]["revenue"]
        .head(1000)
        .equals(other.tables["orders"]["revenue"].head(1000))
    )
    assert not company.truth["archetype"].equals(other.truth["archetype"])


# ---------------------------------------------------------------------------------------------- writing


def test_written_files_round_trip_and_leave_no_temp_files(company: DemoCompany, tmp_path: Path) -> None:
    paths = write_company(company, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{n}.parquet" for n in TABLE_NAMES] + ["_truth", f".{TABLE_NAMES[0]}.publish.lock"]
    )  # the files are published together (`pipelines.staging.atomic_files`); the set's lock is kept
    for name in TABLE_NAMES:
        back = pd.read_parquet(paths[name])
        pd.testing.assert_frame_equal(back, company.tables[name])
    # Ids keep their leading zeros through the file.
    assert pd.read_parquet(paths["customers"])["customer_id"].iloc[0] == "C000001"
    assert pd.read_parquet(paths["orders"])["order_id"].iloc[0] == "O00000001"
    assert all(p.stat().st_mode & 0o044 for p in paths.values())  # readable by others, unlike a mkstemp file


def test_csv_uses_iso_timestamps_and_empty_cells(tmp_path: Path) -> None:
    small = generate_company(200, START, END, 11)
    paths = write_company(small, tmp_path, fmt="csv")
    text = paths["account_managers"].read_text(encoding="utf-8").splitlines()
    assert text[0] == '"account_manager_id","name","started_at","left_at"'
    assert re.fullmatch(r'"AM0001","[^"]+","2021-01-01T00:00:00",', text[1])  # founding manager, never left
    orders = pd.read_csv(paths["orders"], dtype={"order_id": str, "customer_id": str})
    assert orders["order_id"].iloc[0] == "O00000001"
    assert len(orders) == len(small.tables["orders"])


def test_invalid_arguments_are_rejected(company: DemoCompany, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fmt"):
        write_company(company, tmp_path, fmt="xlsx")
    with pytest.raises(ValueError, match="n_customers"):
        generate_company(0, START, END, 1)
    with pytest.raises(ValueError, match="30 days"):
        generate_company(10, "2021-01-01", "2021-01-10", 1)


# ---------------------------------------------------------------------------------------------- contract


def test_contract_holds_for_default_company(company: DemoCompany) -> None:
    _check_contract(company, START, END)
    # Scale and shape the brief asks for.
    assert 8.0 <= len(company.tables["orders"]) / N <= 12.0
    assert 40 <= len(company.tables["account_managers"]) <= 80
    assert company.tables["account_managers"]["left_at"].notna().sum() >= 5
    assert company.tables["customers"]["churned_at"].notna().mean() >= 0.03
    assert company.tables["customers"]["email"].is_unique


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=1, max_value=300),
    start_day=st.integers(min_value=0, max_value=2000),
    span_days=st.integers(min_value=30, max_value=2500),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_contract_holds_for_any_size_window_and_seed(
    n: int, start_day: int, span_days: int, seed: int
) -> None:
    start = pd.Timestamp("2015-03-07 12:30:00") + pd.Timedelta(days=start_day)
    end = start + pd.Timedelta(days=span_days, hours=5)
    generated = generate_company(n, start, end, seed)
    # The base of n customers, then about 2% who signed up and have not ordered yet.
    assert len(generated.tables["customers"]) == n + round(0.02 * n)
    _check_contract(generated, start, end)


# ---------------------------------------------------------------------------------------------- realism


def _per_customer(company: DemoCompany) -> pd.DataFrame:
    t = company.tables
    truth = company.truth.set_index("customer_id")
    orders = t["orders"]
    invoices = t["invoices"]
    late = (invoices["paid_at"] > invoices["due_at"]) | (
        invoices["paid_at"].isna() & (invoices["due_at"] < END)
    )
    margin = (orders["revenue"] - orders["cost"]).groupby(orders["customer_id"]).sum()
    frame = pd.DataFrame(
        {
            "archetype": truth["archetype"],
            "orders": orders.groupby("customer_id").size(),
            "promo_orders": orders["promo"].astype(bool).groupby(orders["customer_id"]).sum(),
            "revenue": orders.groupby("customer_id")["revenue"].sum(),
            "margin": margin.sub(t["returns"].groupby("customer_id")["amount"].sum(), fill_value=0.0),
            "tickets": t["tickets"].groupby("customer_id").size(),
            "late_invoices": late.groupby(invoices["customer_id"]).sum(),
            "referrals": t["referrals"].groupby("referrer_id").size(),
        },
        index=truth.index,
    )
    return frame.fillna(0.0)


def test_margin_is_pareto_concentrated_with_whales(company: DemoCompany) -> None:
    per = _per_customer(company)
    ranked = per["margin"].sort_values(ascending=False)
    top_share = ranked.iloc[: int(0.2 * N)].sum() / ranked.sum()
    assert 0.6 <= top_share <= 0.9
    largest = per["revenue"].max() / per["revenue"].sum()
    assert 0.005 <= largest <= 0.15  # concentration risk is visible, not absurd


def test_problem_customers_cost_more_to_serve_and_pay_later(company: DemoCompany) -> None:
    by = _per_customer(company).groupby("archetype")[["orders", "tickets", "late_invoices"]].sum()
    tickets_per_order = by["tickets"] / by["orders"]
    late_share = by["late_invoices"] / by["orders"]
    assert tickets_per_order["problem"] > 2 * tickets_per_order["great"]
    assert late_share["problem"] > 2 * late_share["great"]


def test_problem_customers_extract_price_concessions(company: DemoCompany) -> None:
    orders = company.tables["orders"]
    archetype = orders["customer_id"].map(company.truth.set_index("customer_id")["archetype"])
    full_price = ~orders["promo"].astype(bool)
    rate = (orders["discount"] / (orders["revenue"] + orders["discount"]))[full_price]
    by = rate.groupby(archetype[full_price]).mean()
    assert by["problem"] > 3 * by["great"]


def test_problem_tickets_are_longer_and_angrier(company: DemoCompany) -> None:
    tickets = company.tables["tickets"]
    archetype = tickets["customer_id"].map(company.truth.set_index("customer_id")["archetype"])
    by = tickets.assign(
        archetype=archetype,
        complaint=tickets["kind"] == "complaint",
        escalated=tickets["escalated"].astype(bool),
    ).groupby("archetype")
    stats = by[["effort_minutes", "complaint", "escalated", "satisfaction"]].mean()
    assert stats.loc["problem", "effort_minutes"] > stats.loc["great", "effort_minutes"]
    assert stats.loc["problem", "complaint"] > stats.loc["great", "complaint"]
    assert stats.loc["problem", "escalated"] > stats.loc["great", "escalated"]
    assert stats.loc["problem", "satisfaction"] < stats.loc["great", "satisfaction"]


def test_promo_driven_customers_buy_on_promotion(company: DemoCompany) -> None:
    by = _per_customer(company).groupby("archetype")[["orders", "promo_orders"]].sum()
    promo_share = by["promo_orders"] / by["orders"]
    assert promo_share["good"] > promo_share["great"] + 0.2
    assert promo_share["good"] > promo_share["problem"]


def test_great_customers_refer_more(company: DemoCompany) -> None:
    referrals = _per_customer(company).groupby("archetype")["referrals"].mean()
    assert referrals["great"] > 3 * referrals["good"]
    assert referrals["great"] > 3 * referrals["problem"]
    # Chains exist: some referred customers referred others in turn.
    r = company.tables["referrals"]
    assert r["referrer_id"].isin(r["referred_id"]).any()


def test_customers_of_departed_managers_churn_more(company: DemoCompany) -> None:
    t = company.tables
    customers = t["customers"].set_index("customer_id")
    left_at = customers["account_manager_id"].map(
        t["account_managers"].set_index("account_manager_id")["left_at"]
    )
    last_order = t["orders"].groupby("customer_id")["ordered_at"].max().reindex(customers.index)
    inactive_final_year = ~(last_order > END - pd.Timedelta(days=365))
    # Compare customers acquired in the same early period, so tenure does not explain the difference.
    early = customers["signup_at"] < pd.Timestamp("2023-01-01")
    departed = early & (left_at > customers["signup_at"]) & (left_at < END - pd.Timedelta(days=365))
    stayed = early & left_at.isna()
    assert departed.sum() >= 100 and stayed.sum() >= 300
    assert inactive_final_year[departed].mean() > inactive_final_year[stayed].mean() + 0.05


def test_orders_peak_in_q4_and_acquisition_spreads_over_time(company: DemoCompany) -> None:
    t = company.tables
    quarter = t["orders"]["ordered_at"].dt.quarter
    per_quarter = quarter.value_counts()
    assert per_quarter[4] > per_quarter[2] and per_quarter[4] > per_quarter[3]
    signups_per_year = t["customers"]["signup_at"].dt.year.value_counts()
    assert set(signups_per_year.index) == {2021, 2022, 2023, 2024, 2025}
    assert signups_per_year.min() >= 0.08 * N


def test_margin_rates_differ_by_customer_and_discounts_erode_them(company: DemoCompany) -> None:
    orders = company.tables["orders"]
    list_price = orders["revenue"] + orders["discount"]
    # Cost is the list-price basket at the customer's margin rate, so (1 - cost / list) recovers that rate.
    implied = (1.0 - orders["cost"] / list_price).groupby(orders["customer_id"]).median()
    truth_rate = company.truth.set_index("customer_id")["margin_rate"].loc[implied.index]
    big = list_price.groupby(orders["customer_id"]).min().loc[implied.index] > 20  # rounding noise is small
    np.testing.assert_allclose(implied[big], truth_rate[big], atol=0.01)
    assert implied.std() > 0.03
    promo = orders["promo"].astype(bool)
    realised = (orders["revenue"] - orders["cost"]) / list_price
    assert realised[promo].mean() < realised[~promo].mean() - 0.1


# ---------------------------------------------------------------------------------------------- acquisition


def test_new_draws_leave_the_existing_customers_as_they_were(
    company: DemoCompany, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Acquisition costs and newcomers come from their own streams: without that step every table of the base
    is the same, row for row (the customers table only gains a column and the newcomers' rows)."""
    import pipelines.demo.company as company_module

    monkeypatch.setattr(company_module, "add_acquisition", lambda base, *args: base)
    base = generate_company(N, START, END, SEED)
    for name in TABLE_NAMES:
        new = company.tables[name]
        if name == "customers":
            new = new.iloc[:N].drop(columns="acquisition_cost")
        pd.testing.assert_frame_equal(base.tables[name], new, check_exact=True)
    pd.testing.assert_frame_equal(
        base.truth, company.truth.iloc[:N].drop(columns="signed_up_without_order"), check_exact=True
    )


def test_newcomers_signed_up_lately_and_have_not_ordered(company: DemoCompany) -> None:
    t = company.tables
    customers, truth = t["customers"], company.truth
    new = truth["signed_up_without_order"].to_numpy()
    assert new.sum() == round(0.02 * N) and not new[:N].any()
    newcomers = customers.loc[new]
    # Ids continue after the base, in signup order; signed up in the last 45 days; no event of any kind.
    assert newcomers["customer_id"].tolist() == [f"C{i:06d}" for i in range(N + 1, N + 1 + new.sum())]
    assert newcomers["signup_at"].is_monotonic_increasing
    assert (newcomers["signup_at"] >= END - pd.Timedelta(days=45)).all() and (
        newcomers["signup_at"] <= END
    ).all()
    for name in ("orders", "returns", "tickets", "invoices"):
        assert not t[name]["customer_id"].isin(newcomers["customer_id"]).any(), name
    assert not t["referrals"]["referred_id"].isin(newcomers["customer_id"]).any()
    assert newcomers["account_manager_id"].isin(t["account_managers"]["account_manager_id"]).all()
    assert newcomers["churned_at"].isna().all()
    # Their latent truth is there, like everyone's: archetype and behaviour parameters.
    assert truth.loc[new, "archetype"].isin(ARCHETYPES).all()


def test_acquisition_cost_by_channel_with_noise_and_gaps(company: DemoCompany) -> None:
    customers = company.tables["customers"]
    cost = customers["acquisition_cost"]
    assert 0.03 <= cost.isna().mean() <= 0.10  # some costs were never recorded
    assert (cost.dropna() > 0).all()
    b2c = customers["segment"] == "B2C"
    median = cost[b2c].groupby(customers.loc[b2c, "acquisition_channel"]).median()
    # Outbound sales and events cost most, organic search least; noise: not one price per channel.
    assert median["sales_outbound"] > median["event"] > median["partner"] > median["paid_search"]
    assert median["organic_search"] == median.min()
    assert cost[b2c & (customers["acquisition_channel"] == "paid_search")].nunique() > 10
    # B2B customers cost more to win on the same channel.
    b2b_median = cost[~b2c].groupby(customers.loc[~b2c, "acquisition_channel"]).median()
    assert (b2b_median["paid_search"] > 2 * median["paid_search"]) and (
        b2b_median["partner"] > 2 * median["partner"]
    )


def test_profile_drivers_are_planted_and_written(company: DemoCompany, tmp_path: Path) -> None:
    drivers = company.profile_drivers
    planted = drivers.groupby("attribute")["planted"].first()
    assert planted.to_dict() == {"acquisition_channel": True, "region": False, "segment": True, "size": True}
    channel = drivers[drivers["attribute"] == "acquisition_channel"].set_index("value")
    # Referred customers are most often great, deal hunters least.
    assert (
        channel["great_share"].idxmax() == "referral"
        and channel["great_share"].idxmin() == "marketplace_deal"
    )
    size = drivers[drivers["attribute"] == "size"].set_index("value")
    assert size["value_lift"].idxmax() == "enterprise"
    region = drivers[drivers["attribute"] == "region"]
    assert region["great_lift"].between(0.8, 1.2).all()  # the planted null
    # Counts per attribute cover every customer once.
    assert (drivers.groupby("attribute")["customers"].sum() == len(company.tables["customers"])).all()
    paths = write_company(company, tmp_path)
    back = pd.read_parquet(paths["_profile_drivers"])
    assert paths["_profile_drivers"] == tmp_path / "_truth" / "profile_drivers.parquet"
    pd.testing.assert_frame_equal(back, drivers)
