"""The model's inputs: which contract columns shape what the models see, their shares of rows with a value (recorded
by a trained model of its training data), and scoring data held to them (`check_model_inputs`).

Moved out of `features.contract` (the contract tables stay there) with no change of behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping
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
    in training"; `strict` refuses them): a model input this data has and the training data had not, and a
    column filled on at most half the share of rows it was in training. `recorded` None: a model saved
    before models recorded their inputs (nothing to compare). `present`: `model_inputs` of the tables, when
    they were measured before some of their columns were let go (the Spark driver's tables, issue 11).
    """
    if recorded is None:
        return []
    present = model_inputs(tables) if present is None else present
    was = {t: dict(cols) for t, cols in recorded.items()}
    missing_tables = [t for t in was if t not in tables or tables[t] is None]
    missing = [
        f"{t}.{c}"
        for t, cols in was.items()
        if t not in missing_tables
        for c in cols
        if c not in present.get(t, {})
    ]
    rowless = [t for t in was if t not in missing_tables and len(tables[t]) == 0]
    # not "columns without a value": the rows are gone (was: every column of them listed as empty)
    if rowless:
        raise StructuralError(
            f"table(s) {', '.join(rowless)} have no accepted row in this data (the model was trained with them): "
            "every row was rejected (see the counts by reason above; `unknown customer_id` on every row means the "
            "customers table names none of their customers: ids written differently, or another export?) or the "
            "file has none"
        )
    empty = [
        f"{t}.{c}"
        for t, cols in was.items()
        if t not in missing_tables
        for c, share in cols.items()
        if present.get(t, {}).get(c) == 0 and share >= FILLED_IN_TRAINING
    ]
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
    notes = [_new_input(t) for t in present if t not in was]
    for t, cols in present.items():
        for c, share in cols.items():
            if t not in was:
                continue
            if c not in was[t]:
                notes.append(_new_input(t, c))
            elif was[t][c] == 0 and share > 0:  # built empty, as trained (`features.as_trained`)
                notes.append(_new_input(t, c, share))
            elif share <= was[t][c] / 2:
                notes.append(
                    f"{t}.{c}: a value on {share:.0%} of the rows, {was[t][c]:.0%} in the model's training data"
                )
    if notes and strict:
        raise StructuralError(
            "--strict: this data's model inputs differ from the training data's: " + "; ".join(notes)
        )
    return notes
