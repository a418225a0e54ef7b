"""Synthetic demo company: a multi-year B2B/B2C business generated from latent customer archetypes.

The generator draws every customer from a blend of the three archetypes of the domain brief (great, good,
problem), settles who manages them and when they leave, and then draws all contract tables from those latent
parameters. The latent truth is returned separately so tests and demos can check what a model recovers; the
product pipeline never reads it.

Tables produced (names and columns per the data contract; dtypes per its validated representation):

- ``orders``: order_id, customer_id, ordered_at, revenue, cost, discount, promo, quantity, channel.
  Grain: one row per order. ``revenue`` is paid after discounts; ``cost`` is the cost of goods of the list-price
  basket, ``cost = (revenue + discount) * (1 - margin_rate)``, so discounts erode margin.
- ``returns``: return_id, customer_id, order_id, returned_at, amount, reason. Grain: one row per returned order.
- ``tickets``: ticket_id, customer_id, opened_at, closed_at, kind, effort_minutes, escalated, satisfaction.
  ``closed_at`` is empty while the ticket is still open at ``end``; ``satisfaction`` is empty when unsurveyed.
- ``invoices``: invoice_id, customer_id, issued_at, due_at, paid_at, amount, disputed. One invoice per order:
  ``issued_at = ordered_at``, ``due_at = issued_at + 30 days`` (may fall after ``end``), ``paid_at`` empty when
  unpaid at ``end``.
- ``referrals``: referrer_id, referred_id, referred_at. The referred customer signs up after ``referred_at``.
- ``customers``: customer_id, signup_at, segment, size, region, acquisition_channel, acquisition_cost,
  account_manager_id, churned_at, name, email, phone. ``churned_at`` is an explicit cancellation, present only for
  customers with a contract-like relationship who left before ``end``; the others simply stop ordering.
  ``acquisition_cost`` is what winning the customer cost (by channel and segment, with noise; about 6% missing).
  After the ``n_customers`` of the base come about 2% more who signed up in the last weeks and have not ordered
  yet (``pipelines.demo.acquisition``).
- ``account_managers``: account_manager_id, name, started_at, left_at.

Time semantics: every event (signup, order, return, ticket open/close, payment, referral, manager start/leave)
lies in ``[start, end]`` at whole seconds; only ``due_at`` may lie after ``end``. A customer's orders stop at
their latent churn time. Determinism: one ``numpy.random.Generator(PCG64(seed))`` drives every draw, in a fixed
order, and files are written by pyarrow with fixed settings, so a seed reproduces byte-identical files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.errors import StructuralError
from pipelines.demo.acquisition import add_acquisition
from pipelines.demo.assemble import DemoCompany, _assemble
from pipelines.demo.calendar_and_managers import _draw_calendar, _draw_managers
from pipelines.demo.customers import _draw_customers, _settle_customers
from pipelines.demo.events import _draw_invoices, _draw_orders, _draw_returns, _draw_tickets
from pipelines.demo.params import _SECONDS_PER_DAY


def generate_company(
    n_customers: int, start: str | pd.Timestamp, end: str | pd.Timestamp, seed: int
) -> DemoCompany:
    """Generate a synthetic company of ``n_customers`` customers active between ``start`` and ``end``.

    ``start`` and ``end`` are the inclusive window of every event (whole seconds, naive wall-clock). The same
    ``(n_customers, start, end, seed)`` always yields identical frames. Fully vectorised: the only Python loops
    run over referral generations and 30-day manager-assignment bins, never over customers or events.
    """
    if n_customers < 1:
        raise ValueError("n_customers must be at least 1")
    start_ts = pd.Timestamp(start)
    end_ts = pd.Timestamp(end)
    if start_ts.tzinfo is not None or end_ts.tzinfo is not None:
        raise ValueError("start and end must be naive timestamps (wall-clock)")
    start_ts = start_ts.floor("s")
    end_ts = end_ts.floor("s")
    horizon = (end_ts - start_ts).total_seconds() / _SECONDS_PER_DAY
    if horizon < 30:  # a structural error: `cvp generate --start/--end` and `demo.start/end` reach it
        raise StructuralError(
            f"the demo company's window, {start_ts.date()} to {end_ts.date()} (--start and --end, or demo.start "
            "and demo.end), must span at least 30 days"
        )

    rng = np.random.Generator(np.random.PCG64(seed))
    calendar = _draw_calendar(start_ts, horizon, rng)
    managers = _draw_managers(max(5, round(n_customers / 75)), horizon, rng)
    cust = _draw_customers(n_customers, horizon, rng)
    referrals = _settle_customers(cust, managers, horizon, rng)
    orders = _draw_orders(cust, calendar, horizon, rng)
    returns = _draw_returns(cust, orders, horizon, rng)
    tickets = _draw_tickets(cust, horizon, rng)
    invoices = _draw_invoices(cust, orders, horizon, rng)
    company = _assemble(cust, managers, orders, returns, tickets, invoices, referrals, start_ts, horizon, rng)
    # Acquisition costs and the customers who have not ordered yet come from their own seeded streams, so the
    # draws above (and every table of the existing customers) are unchanged by them.
    return add_acquisition(company, managers, start_ts, horizon, seed)
