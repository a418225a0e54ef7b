"""A model's features built as it was trained: from the tables and columns its training data had.

A model trained on data without a table (tickets) or a model-input column (`orders.cost`) learnt its features
without them (no service effort features; the margin of `features.margin_rate_when_cost_missing`). Scoring data
that has them would otherwise give the model features in a form it never saw (the demo's 300 customers: a model
trained without `orders.cost` put 91 of 306 customers in another tier scored on data with it, total value +21%;
without tickets, 122). `AsTrained` is what to leave out of the model's feature build: a table the training data
lacked, a column it lacked, and a column it had with no value on any row (emptied). The tier and flag rules and
the reports (the carried features, the profile inputs) still read the features of all the data (true, even where
the model never saw it): scoring builds those beside the model's, only when the plan is not empty
(`with_data_values`), under `AS_DATA` + name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from features.model_inputs import input_differences

#: The prefix of a carried feature's value built from all the data, beside the model's own (as-trained) value.
AS_DATA = "as_data__"


@dataclass(frozen=True)
class AsTrained:
    """What the model's feature build leaves out of the scoring data: `tables` (absent in training), `columns`
    (table, column: absent in training) and `emptied` (table, column: in training without a single value)."""

    tables: tuple[str, ...] = ()
    columns: tuple[tuple[str, str], ...] = ()
    emptied: tuple[tuple[str, str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.tables or self.columns or self.emptied)

    def apply(self, tables: Mapping[str, Any]) -> dict[str, Any]:
        """The tables as the model's training data had them (the same dict's frames when nothing is left out)."""
        out = {name: frame for name, frame in tables.items() if name not in self.tables}
        for name, frame in list(out.items()):
            drop = [c for t, c in self.columns if t == name and c in frame.columns]
            empty = [c for t, c in self.emptied if t == name and c in frame.columns]
            if drop:
                frame = frame.drop(columns=drop)
            if empty:  # the column's type kept (a float, a timestamp, a nullable bool), every value missing
                frame = frame.assign(**{c: frame[c].iloc[:0].reindex(frame.index) for c in empty})
            out[name] = frame
        return out

    def left_out(self, table: str) -> list[str]:
        """What of `table` the model's build leaves out, in words (`["orders.cost"]`, `["table tickets"]`)."""
        if table in self.tables:
            return [f"table {table}"]
        return [f"{t}.{c}" for t, c in (*self.columns, *self.emptied) if t == table]

    def words(self) -> list[str]:
        """Everything the model's build leaves out, in words (`["table tickets", "orders.cost", "orders.promo
        (empty)"]`)."""
        rec = self.record()
        emptied = [f"{c} (empty)" for c in rec["columns_emptied"]]
        return [f"table {t}" for t in self.tables] + rec["columns_left_out"] + emptied

    def record(self) -> dict[str, list[str]]:
        """For the manifest: what the model's features were built without."""
        return {
            "tables_left_out": list(self.tables),
            "columns_left_out": [f"{t}.{c}" for t, c in self.columns],
            "columns_emptied": [f"{t}.{c}" for t, c in self.emptied],
        }


def as_trained_plan(
    recorded: Mapping[str, Mapping[str, float]] | None, present: Mapping[str, Mapping[str, float]]
) -> AsTrained:
    """What to leave out of the model's build: `recorded` (the model inputs of the training data,
    `features.model_inputs.model_inputs`) against `present` (those of the scoring data). A model saved before models
    recorded their inputs (`recorded` None): nothing (its features are built from the data, as before)."""
    if recorded is None:
        return AsTrained()
    tables, columns, emptied = [], [], []
    for d in input_differences(recorded, present):  # the one comparison (the run's warnings read it too)
        if d.kind == "table":
            tables.append(d.table)
        elif d.kind == "column":
            columns.append((d.table, d.column))
        elif d.kind == "emptied":
            emptied.append((d.table, d.column))
        elif d.kind == "rowless":  # a table without a row in training: its columns empty, as trained
            emptied += [(d.table, c) for c in d.columns]
    return AsTrained(tuple(tables), tuple(columns), tuple(emptied))


def bridge_view(previous: AsTrained, this: AsTrained) -> str | None:
    """Which features the history's previous model (issue 15's bridge) reads of this run's data, from its own
    recorded inputs (`previous`: `as_trained_plan` of them against this data) and this run's model's (`this`):
    "model" (the same plan: the features this run's model reads), "data" (its plan empty: it was trained on every
    input this data has, so it reads the features of all the data, the `AS_DATA` ones when this run's model's
    differ), None (another plan: neither build is the one it was trained on; the bridge is skipped with a note).
    Was: it read this run's model's features whatever it was trained on (the Spark engine: a KeyError on the
    executors for a feature the as-trained build left out)."""
    if previous == this:
        return "model"
    return None if previous else "data"


def with_data_values(model: pd.DataFrame, data: pd.DataFrame) -> pd.DataFrame:
    """The model's feature table with every feature of `data` (the build from all the data) beside it as `AS_DATA`
    + name, in `data`'s rows (a customer known only from a table the model's build left out: a row of missing model
    features, as the build without that table would have had no row)."""
    if not model.index.equals(data.index):
        model = model.reindex(data.index)
    return pd.concat([model, data.add_prefix(AS_DATA)], axis=1)


def data_view(features: pd.DataFrame) -> pd.DataFrame:
    """The features of all the data (the reports' view: the profile inputs): the `AS_DATA` columns under their own
    names when the frame has them, else the frame itself (the model's features are those of the data)."""
    extra = [c for c in features.columns if c.startswith(AS_DATA)]
    if not extra:
        return features
    return features[extra].rename(columns=lambda c: c.removeprefix(AS_DATA))


def model_view(features: pd.DataFrame) -> pd.DataFrame:
    """The features the model reads: without the `AS_DATA` columns (the frame itself when it has none)."""
    extra = [c for c in features.columns if c.startswith(AS_DATA)]
    return features.drop(columns=extra) if extra else features


def carried_values(features: pd.DataFrame, carried: Iterable[str]) -> pd.DataFrame:
    """The carried features the tier and flag rules and the reports read: each one's `AS_DATA` value (all the data)
    when the frame has it, else its own; those the frame has neither of are left out."""
    cols = {}
    for name in carried:
        if AS_DATA + name in features.columns:
            cols[name] = features[AS_DATA + name]
        elif name in features.columns:
            cols[name] = features[name]
    return pd.DataFrame(cols, index=features.index)


def stated_values(model: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """The feature values a reason sentence states (`models.explain.reason_choices`): the model's (`model`), each
    numeric one in its value of all the data where `features` (the chunk's or batch's whole frame) has it as
    `AS_DATA` + name: the value the scores carry beside the sentence (a carried feature) and the data has. A model
    trained without `orders.cost` leads a customer's reason with its guessed margin: the sentence says the
    customer's net profit the data has (the effect stays the model's). Was: "34 EUR net profit in the last 12
    months" in the row whose `profit_net_365d` was 58.30 (round 18: carried features); "net profit so far" in the
    model's guessed value, a feature the scores do not carry (`profit_net_lifetime`, round 19). A category is
    stated as the model read it (the Spark engine carries the numeric ones only: `planned_features`). The frame
    itself when nothing differs (no `AS_DATA` build)."""
    shown = {}
    for name in model.columns:
        data = features.get(AS_DATA + name)
        if data is None or isinstance(model[name].dtype, pd.CategoricalDtype):
            continue
        if not data.equals(model[name]):
            shown[name] = data
    return model.assign(**shown) if shown else model
