"""Round 11: foreign exports mapped with `--mapping` (`pipelines.mapping`), damaged the way real exports are."""

from __future__ import annotations

import pandas as pd
import pytest

from features.validation import StructuralError
from pipelines.mapping import Mapping, apply_mapping

ORDER_COLUMNS = {
    "order_id": "InvoiceNo",
    "customer_id": "CustomerID",
    "ordered_at": {"min": "InvoiceDate"},
    "revenue": {"sum": "line_revenue"},
}


def _map(where: str, derive: str = "Quantity * UnitPrice") -> Mapping:
    return Mapping.model_validate(
        {
            "sources": {"lines": {"file": "lines.csv"}},
            "tables": {
                "orders": {
                    "source": "lines",
                    "where": where,
                    "derive": {"line_revenue": derive},
                    "group_by": "InvoiceNo",
                    "columns": ORDER_COLUMNS,
                }
            },
        }
    )


def _lines(countries: list[str]) -> pd.DataFrame:  # a CSV source: every column text
    n = len(countries)
    return pd.DataFrame(
        {
            "InvoiceNo": [str(536365 + i) for i in range(n)],
            "CustomerID": [str(17850 + i % 3) for i in range(n)],
            "InvoiceDate": [f"2010-12-{1 + i % 28:02d} 08:26:00" for i in range(n)],
            "Quantity": ["6"] * n,
            "UnitPrice": ["2.55"] * n,
            "Rate": ["1"] * n,
            "Country": countries,
        }
    )


def test_a_where_routing_most_rows_nowhere_stops_naming_the_filter():
    # The export writes `United Kingdom`, the filter expects `UK`: 2 of 10 lines (France) were routed, the 8 UK
    # lines reported as `not routed by the mapping` and the model trained on the rest with exit 0.
    lines = _lines(["United Kingdom"] * 8 + ["France"] * 2)
    mapping = _map("(Country == 'UK') | (Country == 'France')")
    with pytest.raises(
        StructuralError, match=r"'lines': 8 of its 10 rows are routed to no table by tables\.orders\.where"
    ) as exc:
        apply_mapping(mapping, {"lines": lines})
    assert "United Kingdom" in str(exc.value)  # the example rows show how the export writes it


def test_the_stop_shows_no_ones_own_value_of_a_filtered_column():
    # a filter on a column of one value per person (an e-mail): its values are never printed, a country's are
    lines = _lines(["United Kingdom"] * 10).assign(Email=[f"ann{i}@secret.example" for i in range(10)])
    with pytest.raises(StructuralError) as exc:
        apply_mapping(_map("(Email == 'x') | (Country == 'UK')"), {"lines": lines})
    assert "secret.example" not in str(exc.value) and "'United Kingdom' (10)" in str(exc.value)


def test_a_source_declared_a_part_keeps_its_filter_and_counts_the_rest():
    # one country of an export on purpose: `sources.lines.part: true` says so, the rest counted, no stop
    lines = _lines(["United Kingdom"] * 8 + ["France"] * 2)
    mapping = _map("Country == 'France'")
    with pytest.raises(StructuralError, match=r"sources\.lines\.part: true"):
        apply_mapping(mapping, {"lines": lines})
    part = mapping.model_copy(
        update={"sources": {"lines": mapping.sources["lines"].model_copy(update={"part": True})}}
    )
    tables, _, report = apply_mapping(part, {"lines": lines})
    assert len(tables["orders"]) == 2 and report["lines"]["not routed by the mapping"] == 8


def test_a_where_leaving_out_a_minority_still_routes_and_counts_it():
    lines = _lines(["United Kingdom"] * 5 + ["Unspecified"] * 5)  # half: not most
    tables, rejects, report = apply_mapping(mapping := _map("Country != 'Unspecified'"), {"lines": lines})
    assert mapping.tables["orders"].where
    assert len(tables["orders"]) == 5
    assert report["lines"]["not routed by the mapping"] == 5
    assert rejects["lines"]["source_row"].tolist() == [5, 6, 7, 8, 9]


def test_a_derive_dividing_by_zero_rejects_the_line_and_its_group_at_the_source():
    # `Quantity * UnitPrice / Rate` with Rate 0 on one line of invoice 536365: was an order of infinite revenue
    # (then rejected `non-finite revenue`, or `missing revenue` for 0 / 0), naming neither the division nor the line
    lines = _lines(["United Kingdom"] * 4)
    lines["InvoiceNo"] = ["536365", "536365", "536366", "536367"]
    lines["Rate"] = ["0", "1", "1", "2"]
    lines["CustomerID"] = "17850"
    mapping = _map("Country == 'United Kingdom'", derive="Quantity * UnitPrice / Rate")
    tables, rejects, report = apply_mapping(mapping, {"lines": lines})
    orders = tables["orders"].set_index("order_id")["revenue"]
    assert orders.to_dict() == pytest.approx({"536366": 15.3, "536367": 7.65})  # no partial 536365 of line 2
    reason = "division by zero in derive.line_revenue in its InvoiceNo group"
    assert report["lines"] == {"rows_in": 4, "to orders": 2, reason: 2}
    assert rejects["lines"]["source_row"].tolist() == [0, 1]
    assert set(rejects["lines"]["reason"]) == {reason}


def test_a_mapping_source_given_as_a_directory_of_parts_is_named_for_what_it_is(tmp_path):
    # an export split in two part files (an invoice's lines in both): was `cannot read ...: OSError: Cannot open
    # for reading: path ... is a directory`, the reader's words
    from pipelines.io import load_data

    data = tmp_path / "data"
    (data / "lines.csv").mkdir(parents=True)
    _lines(["United Kingdom"] * 2).to_csv(data / "lines.csv" / "part-0.csv", index=False)
    _lines(["United Kingdom"] * 2).to_csv(data / "lines.csv" / "part-1.csv", index=False)
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "sources: {lines: {file: lines.csv}}\n"
        "tables:\n  orders:\n    source: lines\n    group_by: InvoiceNo\n"
        "    columns: {order_id: InvoiceNo, customer_id: CustomerID, ordered_at: {min: InvoiceDate}, "
        "revenue: {sum: Quantity}}\n",
        encoding="utf-8",
    )
    with pytest.raises(
        StructuralError, match=r"'lines.csv' is a directory \(an export in part files\?\).*join"
    ):
        load_data(data, mapping)


def test_the_readme_lists_every_true_false_spelling_the_rule_accepts():
    # was: "Bools accept `true/false`, `yes/no`, `1/0`", while `t/f`, `y/n` and `1.0/0.0` were accepted too
    import re
    from pathlib import Path

    from features.contract import BOOL_SPELLINGS
    from features.parsing import parse_bools

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    sentence = re.search(r"Bools accept (.*?)\(any case", readme).group(1)
    listed = re.findall(r"`([^`/]+)/([^`/]+)`", sentence)
    assert ", ".join(map("/".join, listed)) == BOOL_SPELLINGS
    spelled = [s for pair in listed for s in pair]
    assert parse_bools(pd.Series([s.upper() for s in spelled])).tolist() == [True, False] * len(listed)
