"""Hostile input classes closed in the sixteenth hunt. Tiny hand-written tables; no training, no model."""

from __future__ import annotations

import pytest

from features.validation import StructuralError, validate_tables
from tests.helpers import raw_orders

FOLDED = (
    "an id in Unicode compatibility forms or other digits than 0-9 in customer_id (fullwidth Ｃ１, a non-breaking "
    "space, Arabic-Indic ١: another spelling of an ASCII id)"
)


def test_a_stray_id_in_compatibility_forms_is_rejected_and_an_id_of_another_script_kept():
    """`Ｃ1` (fullwidth), `C\u00a01` (a non-breaking space), `C\u20091` (a thin space), `C١` (an Arabic-Indic
    digit), `𝐂1` (a mathematical letter) among ASCII ids: NFC keeps them as written, so without a customers table
    each was a customer of its own printed like `C1` (or `C 1`), with exit 0. Now a row reject naming the form
    (`features.folded_ids`); ids of another script (`Клиент42`, `顧客42`) and `café` decomposed are kept."""
    orders = raw_orders(400)
    orders.loc[:2, "customer_id"] = ["Ｃ1", "C\u00a01", "C\u20091"]  # 3 < 1% of 400: rejects, no stop
    orders.loc[3:7, "customer_id"] = ["Клиент42", "顧客42", "Cafe\u0301", "C 1", "C1"]
    result = validate_tables({"orders": orders})
    assert result.report["orders"].rejected_by_reason == {FOLDED: 3}
    kept = set(result.tables["orders"]["customer_id"])
    assert {"Клиент42", "顧客42", "Caf\u00e9", "C 1", "C1"} <= kept
    assert not {"Ｃ1", "C\u00a01", "C\u20091"} & kept
    for stray in ("C١", "𝐂1", "C¹"):
        one = raw_orders(400).assign(customer_id=lambda o, s=stray: o["customer_id"].where(o.index != 9, s))
        assert validate_tables({"orders": one}).report["orders"].rejected_by_reason == {FOLDED: 1}


def test_ids_in_compatibility_forms_on_one_percent_of_a_column_stop():
    """An export writing its ids in fullwidth forms on a part of its rows (1% and 3 rows or more): a structural
    error naming the table, column, count and values (rejected, those orders would be lost with exit 0)."""
    orders = raw_orders(400)
    orders.loc[:4, "customer_id"] = [f"Ｃ{chr(0xFF10 + i)}" for i in range(5)]
    with pytest.raises(
        StructuralError,
        match=r"table 'orders', column 'customer_id': 5 of 400 values are ids in Unicode compatibility forms or "
        r"other digits than 0-9 \('Ｃ０', 'Ｃ１', 'Ｃ２'",
    ):
        validate_tables({"orders": orders})
