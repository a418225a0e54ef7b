"""Issue 14: the customer status and the pandas engine's chunk plan share one customer index (one factorize)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import features._engine as engine_module
import features.population as population
from features.population import customer_status
from pipelines.engines import score_base as base_module
from pipelines.engines.chunks import SharedCustomerIndex, plan_chunks
from tests.settings import defaults

AS_OF = pd.Timestamp("2024-06-01")


def _tables(width: int) -> dict[str, pd.DataFrame]:
    """Customers in every id column (some only in side tables, one only as referred); `width` pads the ids
    (8 characters or fewer take the packed-integer path, longer ones the string path)."""
    ids = [f"c{i:0{width}d}" for i in range(30)]
    s = lambda values: pd.Series(values, dtype="str")  # noqa: E731 - Arrow strings, as validation leaves them
    orders = [ids[(7 * i) % 25] for i in range(120)]
    return {
        "customers": pd.DataFrame(
            {
                "customer_id": s(ids[:26]),
                "signup_at": pd.Timestamp("2022-01-01") + pd.to_timedelta(np.arange(26) * 20, "D"),
                "churned_at": pd.Series([pd.NaT] * 25 + [pd.Timestamp("2023-01-01")]),
            }
        ),
        "orders": pd.DataFrame(
            {
                "customer_id": s(orders),
                "ordered_at": pd.Timestamp("2022-03-01") + pd.to_timedelta(np.arange(120) * 7, "D"),
            }
        ),
        "tickets": pd.DataFrame({"customer_id": s([ids[27], ids[3], ids[27]])}),
        "returns": pd.DataFrame({"customer_id": s([ids[28]])}),
        "referrals": pd.DataFrame({"referrer_id": s([ids[1], ids[2]]), "referred_id": s([ids[29], ids[5]])}),
    }


@pytest.mark.parametrize("width", [3, 12])
def test_status_and_plan_from_the_shared_index_equal_their_own(width):
    tables = _tables(width)
    labels = defaults().labels
    shared = SharedCustomerIndex(tables)
    got_status = customer_status(tables, AS_OF, labels, index=shared.index)
    pd.testing.assert_frame_equal(got_status, customer_status(tables, AS_OF, labels))
    got = plan_chunks(tables, chunk_customers=7, shared=shared)
    want = plan_chunks(tables, chunk_customers=7)
    assert got.n_chunks == want.n_chunks
    assert [list(c) for c in got.customers] == [list(c) for c in want.customers]
    assert got.rows.keys() == want.rows.keys()
    for name in want.rows:
        for a, b in zip(got.rows[name], want.rows[name], strict=True):
            assert a.dtype == b.dtype and np.array_equal(a, b), name
    # handed over: the holder keeps no codes alive through the chunk loop
    with pytest.raises(RuntimeError):
        shared.index  # noqa: B018


def test_a_pandas_run_factorizes_the_id_columns_once(monkeypatch):
    """score_tables builds one CustomerIndex for the status and hands it to the engine's chunk plan."""
    built: list[int] = []
    original = engine_module.CustomerIndex

    class Counting(original):  # type: ignore[misc, valid-type]
        def __init__(self, columns):
            built.append(1)
            super().__init__(columns)

    monkeypatch.setattr(engine_module, "CustomerIndex", Counting)
    monkeypatch.setattr(population, "CustomerIndex", Counting)
    handed: dict[str, object] = {}

    class Stop(Exception):
        pass

    def fake_engine(tables, as_of, bundle, cfg, chunk, status, drift, *args, **kwargs):
        handed.update(kwargs)
        plan_chunks(tables, chunk, kwargs.get("customer_index"))  # what the pandas engine's first chunk does
        raise Stop

    monkeypatch.setattr(base_module, "backend", lambda engine, master=None: fake_engine)
    bundle = SimpleNamespace(drift_reference_={"features": {}, "predictions": {}})
    with pytest.raises(Stop):
        base_module.score_tables("pandas", _tables(3), AS_OF, bundle, "1", defaults(), 7)
    assert isinstance(handed.get("customer_index"), SharedCustomerIndex)
    assert len(built) == 1
