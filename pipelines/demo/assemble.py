"""Assembly of the latent draws into contract frames (ids, whole-second times, fake contacts) and the truth."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.contract import TICKET_KINDS
from pipelines.demo.params import (
    _COMPANY_SUFFIXES,
    _FIRST_NAMES,
    _LAST_NAMES,
    _PAYMENT_TERMS_DAYS,
    _PROB_PROFILE,
    _RATE_PROFILE,
    _SECONDS_PER_DAY,
    ACQUISITION_CHANNELS,
    ARCHETYPES,
    CHANNELS,
    REGIONS,
    RETURN_REASONS,
    SEGMENTS,
    SIZES,
)


@dataclass(frozen=True)
class DemoCompany:
    """A generated company: contract tables plus the latent truth behind them.

    ``tables`` maps each contract table name (see ``TABLE_NAMES``) to a frame in the validated representation.
    ``truth`` has one row per customer (same order as ``tables["customers"]``): customer_id, archetype,
    archetype weights, the behaviour parameters each table was drawn from, the latent churn time (possibly after
    the window end), whether the manager's departure hit the customer, and who referred them.
    ``profile_drivers`` is the planted truth per profile attribute value (see
    ``pipelines.demo.acquisition.profile_drivers``).
    """

    tables: dict[str, pd.DataFrame]
    truth: pd.DataFrame
    profile_drivers: pd.DataFrame | None = None


def _assemble(
    cust: dict[str, np.ndarray],
    managers: dict[str, np.ndarray],
    orders: dict[str, np.ndarray],
    returns: dict[str, np.ndarray],
    tickets: dict[str, np.ndarray],
    invoices: dict[str, np.ndarray],
    referrals: dict[str, np.ndarray],
    start_ts: pd.Timestamp,
    horizon: float,
    rng: np.random.Generator,
) -> DemoCompany:
    """Turn latent arrays into contract frames: ids in signup/time order, whole-second timestamps."""
    n = len(cust["signup"])
    start_ns = start_ts.value
    horizon_s = int(np.floor(horizon * _SECONDS_PER_DAY))

    def to_seconds(days: np.ndarray) -> np.ndarray:
        # Floor to whole seconds and clamp, so float round-off can never push an event past ``end``.
        sec = np.floor(np.nan_to_num(days, nan=0.0) * _SECONDS_PER_DAY)
        return np.minimum(sec, horizon_s).astype(np.int64)

    def to_ts(sec: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
        ns = start_ns + sec * 1_000_000_000
        if missing is not None:
            ns = np.where(missing, np.iinfo(np.int64).min, ns)  # int64 min is NaT
        return ns.view("datetime64[ns]")

    # Customers are numbered in signup order, as a real system would.
    signup_s = to_seconds(cust["signup"])
    by_signup = np.lexsort((np.arange(n), signup_s))
    rank = np.empty(n, dtype=np.int64)
    rank[by_signup] = np.arange(n)
    cust_ids_sorted = _make_ids("C", n, 6)
    cust_id_of = pc.take(cust_ids_sorted, pa.array(rank))
    manager_ids = _make_ids("AM", len(managers["started"]), 4)

    def cust_col(internal: np.ndarray) -> pd.Series:
        return _str_series(pc.take(cust_id_of, pa.array(internal, type=pa.int64())))

    # --- orders and invoices (same row order: one invoice per order)
    order_s = to_seconds(orders["t"])
    n_orders = len(order_s)
    order_ids = _make_ids("O", n_orders, 8)
    ordered_at = to_ts(order_s)
    orders_df = pd.DataFrame(
        {
            "order_id": _str_series(order_ids),
            "customer_id": cust_col(orders["cust"]),
            "ordered_at": ordered_at,
            "revenue": orders["revenue"],
            "cost": orders["cost"],
            "discount": orders["discount"],
            "promo": pd.array(orders["promo"], dtype="boolean"),
            "quantity": orders["quantity"].astype(np.float64),
            "channel": _codes_to_str(orders["channel"], CHANNELS),
        }
    )
    delay_s = np.floor(np.nan_to_num(invoices["paid_delay"], nan=0.0) * _SECONDS_PER_DAY).astype(np.int64)
    paid_s = np.minimum(order_s + delay_s, horizon_s)
    invoices_df = pd.DataFrame(
        {
            "invoice_id": _str_series(_make_ids("I", n_orders, 8)),
            "customer_id": orders_df["customer_id"],
            "issued_at": ordered_at,
            "due_at": to_ts(order_s + _PAYMENT_TERMS_DAYS * _SECONDS_PER_DAY),
            "paid_at": to_ts(paid_s, np.isnan(invoices["paid_delay"])),
            "amount": orders["revenue"],
            "disputed": pd.array(invoices["disputed"], dtype="boolean"),
        }
    )

    # --- returns: never before the order they refund
    return_s = np.maximum(to_seconds(returns["t"]), order_s[returns["order_row"]])
    returns_df = pd.DataFrame(
        {
            "return_id": _str_series(_make_ids("R", len(return_s), 8)),
            "customer_id": cust_col(returns["cust"]),
            "order_id": _str_series(pc.take(order_ids, pa.array(returns["order_row"], type=pa.int64()))),
            "returned_at": to_ts(return_s),
            "amount": returns["amount"],
            "reason": _codes_to_str(returns["reason"], RETURN_REASONS),
        }
    )

    # --- tickets
    opened_s = to_seconds(tickets["t"])
    closed_missing = np.isnan(tickets["closed"])
    closed_s = np.maximum(to_seconds(tickets["closed"]), opened_s)
    tickets_df = pd.DataFrame(
        {
            "ticket_id": _str_series(_make_ids("T", len(opened_s), 8)),
            "customer_id": cust_col(tickets["cust"]),
            "opened_at": to_ts(opened_s),
            "closed_at": to_ts(closed_s, closed_missing),
            "kind": _codes_to_str(tickets["kind"], TICKET_KINDS),
            "effort_minutes": tickets["effort"],
            "escalated": pd.array(tickets["escalated"], dtype="boolean"),
            "satisfaction": tickets["satisfaction"],
        }
    )

    # --- referrals: the referral moment never after the referred customer's signup second
    ref_s = np.minimum(to_seconds(referrals["at"]), signup_s[referrals["referred"]])
    ref_order = np.lexsort((rank[referrals["referred"]], ref_s))
    referrals_df = pd.DataFrame(
        {
            "referrer_id": cust_col(referrals["referrer"][ref_order]),
            "referred_id": cust_col(referrals["referred"][ref_order]),
            "referred_at": to_ts(ref_s[ref_order]),
        }
    )

    # --- customers, in id order
    s = by_signup
    churned_by_end = cust["churn"] <= horizon
    # Contract-like relationships (mostly B2B) record an explicit cancellation; the rest just stop buying.
    explicit = churned_by_end & (rng.random(n) < np.where(cust["is_b2b"], 0.6, 0.08))
    churn_s = to_seconds(np.where(churned_by_end, cust["churn"], 0.0))
    names, emails, phones = _fake_contacts(rank, cust["is_b2b"], rng)
    customers_df = pd.DataFrame(
        {
            "customer_id": _str_series(cust_ids_sorted),
            "signup_at": to_ts(signup_s[s]),
            "segment": _codes_to_str(cust["is_b2b"][s].astype(np.int64), SEGMENTS),
            "size": _codes_to_str(cust["size"][s], SIZES),
            "region": _codes_to_str(cust["region"][s], REGIONS),
            "acquisition_channel": _codes_to_str(cust["acquisition"][s], ACQUISITION_CHANNELS),
            "account_manager_id": _str_series(pc.take(manager_ids, pa.array(cust["manager"][s]))),
            "churned_at": to_ts(churn_s[s], ~explicit[s]),
            "name": _str_series(pc.take(names, pa.array(s))),
            "email": _str_series(pc.take(emails, pa.array(s))),
            "phone": _str_series(pc.take(phones, pa.array(s))),
        }
    )

    # --- account managers
    n_managers = len(managers["started"])
    manager_names, _, _ = _fake_contacts(np.arange(n_managers), np.zeros(n_managers, dtype=bool), rng)
    managers_df = pd.DataFrame(
        {
            "account_manager_id": _str_series(manager_ids),
            "name": _str_series(manager_names),
            "started_at": to_ts(to_seconds(managers["started"])),
            "left_at": to_ts(to_seconds(managers["left"]), np.isnan(managers["left"])),
        }
    )

    truth = _truth_frame(cust, s, cust_ids_sorted, cust_id_of, start_ns, horizon)
    tables = {
        "orders": orders_df,
        "returns": returns_df,
        "tickets": tickets_df,
        "invoices": invoices_df,
        "referrals": referrals_df,
        "customers": customers_df,
        "account_managers": managers_df,
    }
    return DemoCompany(tables=tables, truth=truth)


def _truth_frame(
    cust: dict[str, np.ndarray],
    s: np.ndarray,
    cust_ids_sorted: pa.Array,
    cust_id_of: pa.Array,
    start_ns: int,
    horizon: float,
) -> pd.DataFrame:
    """Latent truth per customer, rows in customer-id order (see ``DemoCompany``)."""
    churn_ns = start_ns + np.floor(cust["churn"][s] * _SECONDS_PER_DAY).astype(np.int64) * 1_000_000_000
    referred_by = cust["referred_by"][s]
    referrer_ids = pc.take(cust_id_of, pa.array(np.where(referred_by >= 0, referred_by, 0)))
    referrer_ids = pc.if_else(pa.array(referred_by >= 0), referrer_ids, pa.scalar(None, pa.string()))
    n_referrals = np.bincount(referred_by[referred_by >= 0], minlength=len(s))[s]
    weights = cust["weights"][s]
    columns: dict[str, object] = {
        "customer_id": _str_series(cust_ids_sorted),
        "archetype": _codes_to_str(cust["archetype"][s], ARCHETYPES),
        "weight_great": weights[:, 0],
        "weight_good": weights[:, 1],
        "weight_problem": weights[:, 2],
        "is_b2b": cust["is_b2b"][s],
        "mean_order_value": cust["mean_order_value"][s],
        "purchase_rate_per_year": cust["purchase_rate"][s],
    }
    for name in (*_RATE_PROFILE, *_PROB_PROFILE, "satisfaction_mean"):
        if name not in ("purchase_rate_per_year", "order_value_multiplier"):
            columns[name] = cust[name][s]
    columns.update(
        {
            "churn_at": churn_ns.view("datetime64[ns]"),
            "churned_by_end": cust["churn"][s] <= horizon,
            "manager_departure_shock": cust["shocked"][s],
            "referred_by": _str_series(referrer_ids),
            "n_referrals": n_referrals.astype(np.int64),
        }
    )
    return pd.DataFrame(columns)


def _make_ids(prefix: str, n: int, min_width: int) -> pa.Array:
    """Ids ``prefix`` + zero-padded 1-based counter, wide enough for ``n`` (e.g. C000001)."""
    width = max(min_width, len(str(n)))
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(1, n + 1, dtype=np.int64)), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _str_series(values: pa.Array | pa.ChunkedArray) -> pd.Series:
    """A pandas ``str`` series backed by the given Arrow strings (no Python objects)."""
    return values.to_pandas()


def _codes_to_str(codes: np.ndarray, labels: tuple[str, ...]) -> pd.Series:
    return _str_series(pc.take(pa.array(labels), pa.array(np.asarray(codes, dtype=np.int64))))


def _fake_contacts(
    number: np.ndarray, is_b2b: np.ndarray, rng: np.random.Generator
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Fake, deterministic name/email/phone; emails use reserved example domains and are unique by ``number``.

    Phones use the fictional +1-555-01xx range. Returns Arrow arrays aligned with ``number``.
    """
    n = len(number)
    first = pc.take(pa.array(_FIRST_NAMES), pa.array(rng.integers(0, len(_FIRST_NAMES), n)))
    last = pc.take(pa.array(_LAST_NAMES), pa.array(rng.integers(0, len(_LAST_NAMES), n)))
    partner = pc.take(pa.array(_LAST_NAMES), pa.array(rng.integers(0, len(_LAST_NAMES), n)))
    suffix = pc.take(pa.array(_COMPANY_SUFFIXES), pa.array(rng.integers(0, len(_COMPANY_SUFFIXES), n)))
    tag = pc.cast(pa.array(np.asarray(number, dtype=np.int64) + 1), pa.string())
    person = pc.binary_join_element_wise(first, last, " ")
    company = pc.binary_join_element_wise(last, "&", partner, suffix, " ")
    person_mail = pc.binary_join_element_wise(
        pc.utf8_lower(first), ".", pc.utf8_lower(last), ".", tag, "@example.com", ""
    )
    company_mail = pc.binary_join_element_wise("accounts@", pc.utf8_lower(last), "-", tag, ".example.org", "")
    b2b = pa.array(np.asarray(is_b2b, dtype=bool))
    phone = pc.binary_join_element_wise(
        "+1-555-01", pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 100, n)), pa.string()), 2, "0"), ""
    )
    return pc.if_else(b2b, company, person), pc.if_else(b2b, company_mail, person_mail), phone
