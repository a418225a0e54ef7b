"""The model's inputs: which contract columns shape what the models see, their shares of rows with a value (recorded
by a trained model of its training data), and scoring data held to them (`check_model_inputs`).

Moved out of `features.contract` (the contract tables stay there) with no change of behaviour.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from features.contract import GROUP_TABLES, TABLES
from features.errors import StructuralError


def model_input_counts(name: str, frame: Any) -> tuple[int, dict[str, int]] | None:
    """Table `name`'s rows in `frame` and, per contract column marked `model_input` that it has, the rows with a
    value (None: not a contract table). Counts of row batches add up to the whole table's."""
    table = TABLES.get(name)
    if table is None or frame is None:
        return None
    used = {
        c.name: int(frame[c.name].notna().sum()) for c in table.columns if c.model_input and c.name in frame
    }
    return len(frame), used


def input_shares(counts: Mapping[str, tuple[int, Mapping[str, int]] | None]) -> dict[str, dict[str, float]]:
    """`model_inputs` from `model_input_counts` per table."""
    out: dict[str, dict[str, float]] = {}
    for name, got in counts.items():
        if got is None:
            continue
        rows, filled = got
        used = {c: round(float(n) / rows, 6) if rows else 0.0 for c, n in filled.items()}
        if used:
            out[name] = used
    return out


def model_inputs(tables: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """The contract columns that shape what the models see, in these tables: table -> {column: share of rows with
    a value} in contract order (an empty table's shares are 0); a table with none is left out. A trained model
    records this of its training data; scoring data is held to it (`check_model_inputs`)."""
    return input_shares({name: model_input_counts(name, frame) for name, frame in tables.items()})


def recorded_inputs(bundle: Any) -> dict[str, dict[str, float]] | None:
    """The model inputs a trained model recorded of its training data (`model_inputs`; None: a model saved before
    models recorded them)."""
    return ((bundle.contract_settings() or {}).get("data") or {}).get("input_columns")


#: A model input filled on at least this share of the training rows may not arrive empty (no value at all).
FILLED_IN_TRAINING = 0.5


#: What a feature table built without one of these columns gets wrong, in the refusal of `check_model_inputs`.
_WITHOUT_COLUMN: dict[str, str] = {
    "orders.cost": "a guessed margin without orders.cost",
    "invoices.paid_at": "no payment lateness without invoices.paid_at",
    "customers.signup_at": "tenure from the first order without customers.signup_at",
}


def _what_goes_wrong(tables: list[str], columns: list[str]) -> str:
    """The feature groups each missing table feeds (`tickets: the profit and service effort features`) and what
    a missing column costs (`a guessed margin without orders.cost`), for the refusal's message (was: the three
    column examples whatever was missing, a missing tickets table told about orders.cost and signup_at)."""
    said = [f"{table}: the {_groups(table)} features" for table in tables if _groups(table)]
    said += [_WITHOUT_COLUMN[c] for c in columns if c in _WITHOUT_COLUMN]
    return "; ".join(said) or "for example " + ", ".join(_WITHOUT_COLUMN.values())


def _groups(table: str) -> str:
    """The feature groups `table` feeds, in words ("profit and service effort"; "" for none)."""
    groups = [g.replace("_", " ") for g, read in GROUP_TABLES.items() if table in read]
    return ", ".join(groups[:-1]) + " and " + groups[-1] if len(groups) > 1 else "".join(groups)


@dataclass(frozen=True)
class InputDifference:
    """One way the scoring data's model inputs differ from those the model was trained on (`input_differences`):
    `kind` "table" (a table the training data had not), "column" (a column it had not), "emptied" (a column it
    had with no value on any row, filled here), "rowless" (a table it had with no row: `columns` those filled
    here, `share` the largest of their shares), "thinner" (filled on at most half the share of rows it was in
    training) or "few" (filled on few training rows, below `FILLED_IN_TRAINING`, and on most rows here, more than
    twice that share: the model learnt little of it). `share`: this data's share of rows with a value; `was`: the
    training data's."""

    kind: str
    table: str
    column: str | None = None
    share: float | None = None
    was: float | None = None
    columns: tuple[str, ...] = ()


def _rowless(table: str, recorded: Mapping[str, float]) -> bool:
    """The training data's `table` had no row: every model input recorded at 0, a required one among them (the
    shares of a table with rows are those of its required columns, 1; `account_managers.left_at` alone at 0 is a
    column nobody filled)."""
    contract = TABLES.get(table)
    required = contract is not None and any(c.required and c.name in recorded for c in contract.columns)
    return required and all(share == 0 for share in recorded.values())


def input_differences(
    recorded: Mapping[str, Mapping[str, float]], present: Mapping[str, Mapping[str, float]]
) -> list[InputDifference]:
    """The model inputs of the scoring data (`present`, `model_inputs`) against those of the training data
    (`recorded`) that do not stop a run: the one comparison the run's warnings (`check_model_inputs`) and the
    model's feature build as trained (`features.as_trained.as_trained_plan`) both read. A new table first, then
    table by table, column by column, in the data's order."""
    out = [InputDifference("table", t) for t in present if t not in recorded]
    for t, cols in present.items():
        if t not in recorded:
            continue
        was = recorded[t]
        if _rowless(t, was):
            filled = {c: share for c, share in cols.items() if c in was and share > 0}
            if filled:
                out.append(InputDifference("rowless", t, share=max(filled.values()), columns=tuple(filled)))
        for c, share in cols.items():
            if c not in was:
                out.append(InputDifference("column", t, c, share))
            elif _rowless(t, was):
                continue  # said once for the table (above)
            elif was[c] == 0 and share > 0:  # built empty, as trained (`features.as_trained`)
                out.append(InputDifference("emptied", t, c, share, 0.0))
            elif was[c] > 0 and share <= was[c] / 2:  # (was: 0 <= 0, a column nobody ever filled warned)
                out.append(InputDifference("thinner", t, c, share, was[c]))
            elif was[c] < FILLED_IN_TRAINING < share and share > 2 * was[c]:  # on most rows here
                out.append(InputDifference("few", t, c, share, was[c]))
    return out


def _note(d: InputDifference) -> str:
    """The run's warning of one difference."""
    if d.kind == "table":
        return _new_input(d.table)
    if d.kind == "column":
        return _new_input(d.table, d.column)
    if d.kind == "rowless":
        return (
            f"table {d.table} had no row in the model's training data: the model scored these customers as "
            f"trained, with its columns empty; the tier rules and reports read it; train a model on data with "
            f"{d.table} for scores that use it"
        )
    if d.kind == "emptied":
        return _new_input(d.table, d.column, d.share)
    if d.kind == "few":
        return (
            f"{d.table}.{d.column}: a value on {d.share:.0%} of the rows, only {d.was:.0%} in the model's "
            "training data: the model learnt little of it, so its scores may read it in ways training never "
            "tested; train a model on data with it filled"
        )
    return f"{d.table}.{d.column}: a value on {d.share:.0%} of the rows, {d.was:.0%} in the model's training data"


def _new_input(table: str, column: str | None = None, share: float | None = None) -> str:
    """The warning of a model input this data has and the model's training data had not (`share`: a column it had
    with no value on any row, this data's share of rows with one), saying what the run did: the model's features
    built as trained, without it (`features.as_trained`), the tier rules and reports reading it. Was: "this run
    computes them with it, so its scores can differ": a model trained without `orders.cost` scored on the demo's
    data with it gave 91 of 306 customers another tier and a total 21% higher; one trained without tickets, 122
    tiers (exit 0); a column empty in training and filled here was not said at all."""
    name = f"{table}.{column}" if column else f"table {table}"
    if column is None:
        how = f"without it (its {_groups(table) or table} features as it learnt them)"
    elif share is not None:
        how = "with the column empty, as in training"
    elif f"{table}.{column}" in _WITHOUT_COLUMN:
        how = f"with {_WITHOUT_COLUMN[f'{table}.{column}']}"  # "a guessed margin without orders.cost"
    else:
        how = "without it"
    where = (
        f"a value on {share:.0%} of the rows, none in the model's training data"
        if share is not None
        else "in this data, not in the model's training data"
    )
    return (
        f"{name}: {where}: the model scored these customers as trained, {how}; the tier rules and reports read "
        "it; train a model on data with it for scores that use it"
    )


def input_stops(
    recorded: Mapping[str, Mapping[str, float]],
    present: Mapping[str, Mapping[str, float]],
    tables: Collection[str] | None = None,
) -> tuple[list[str], list[str], list[str]]:
    """What stops a scoring run of a model that recorded `recorded` (`recorded_inputs`) on data whose model inputs
    are `present` (`model_inputs`): (the tables it lacks, the `table.column`s it lacks, the `table.column`s filled
    on most training rows, `FILLED_IN_TRAINING`, and on none here). `tables`: the tables the data has (default:
    those of `present`). The one rule `check_model_inputs` holds scoring data to and `cvp models promote` holds a
    version to against the champion's training data (`pipelines.registry_contract.inputs_beyond`)."""
    there = set(present if tables is None else tables)
    missing_tables = [t for t in recorded if t not in there]
    missing = [
        f"{t}.{c}"
        for t, cols in recorded.items()
        if t not in missing_tables
        for c in cols
        if c not in present.get(t, {})
    ]
    empty = [
        f"{t}.{c}"
        for t, cols in recorded.items()
        if t not in missing_tables
        for c, share in cols.items()
        if present.get(t, {}).get(c) == 0 and share >= FILLED_IN_TRAINING
    ]
    return missing_tables, missing, empty


def check_model_inputs(
    recorded: Mapping[str, Any] | None,
    tables: Mapping[str, Any],
    strict: bool,
    present: Mapping[str, Mapping[str, float]] | None = None,
) -> list[str]:
    """Hold scoring data to the model's training data: the columns that shape the features must be there.

    A table or column the model was trained with that this data lacks, or that arrives without a single value
    where the training data had one on most rows, is a structural error: the features would be built without it
    (no cost: a margin guessed; no paid_at: no lateness features; no signup_at: tenure from the first order) and
    the scores would be wrong without a word. Returned as warnings ("scored as trained" or "far emptier than
    in training"; `strict` refuses them): the differences of `input_differences` (a model input this data has and
    the training data had not or had empty, a table it had without a row, a column filled on at most half the
    share of rows it was in training, or on most rows here and few in training). `recorded` None: a model saved
    before models recorded their inputs (nothing to compare). `present`: `model_inputs` of the tables, when
    they were measured before some of their columns were let go (the Spark driver's tables, issue 11).
    """
    if recorded is None:
        return []
    present = model_inputs(tables) if present is None else present
    there = [t for t, frame in tables.items() if frame is not None]
    missing_tables, missing, empty = input_stops(recorded, present, there)
    rowless = [t for t in recorded if t not in missing_tables and len(tables[t]) == 0]
    # not "columns without a value": the rows are gone (was: every column of them listed as empty)
    if rowless:
        raise StructuralError(
            f"table(s) {', '.join(rowless)} have no accepted row in this data (the model was trained with them): "
            "every row was rejected (see the counts by reason above; `unknown customer_id` on every row means the "
            "customers table names none of their customers: ids written differently, or another export?) or the "
            "file has none"
        )
    if missing_tables or missing or empty:
        parts = []
        if missing_tables:
            parts.append("table(s) " + ", ".join(missing_tables))
        if missing:
            parts.append("column(s) " + ", ".join(missing))
        problem = (
            "the model was trained on data with " + " and ".join(parts) + ", which this data lacks"
            if parts
            else ""
        )
        if empty:
            problem += ("; " if problem else "") + (
                "column(s) "
                + ", ".join(empty)
                + " had a value on most training rows and have none in this data"
            )
        raise StructuralError(
            problem
            + ": the features that read them would be computed without them ("
            + _what_goes_wrong(missing_tables, missing + empty)
            + "), so the scores would be wrong. Export them with the data, or train a model on data without them"
        )
    notes = [_note(d) for d in input_differences(recorded, present)]
    if notes and strict:
        raise StructuralError(
            "--strict: this data's model inputs differ from the training data's: " + "; ".join(notes)
        )
    return notes
