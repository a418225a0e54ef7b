"""Whose customers a scoring run scored: a signature of the company's orders, so a score history is compared
only with runs of the same company.

The customer ids alone do not tell: two companies numbering their customers `1, 2, 3...` or `C000001...` (every
demo company) share nearly all their ids, and another company's history in the same currency passed every check
(`pipelines.history.check_same_customers` counts ids): stable tiers, transitions and win-backs computed against
strangers' customers, exit 0. An order does not change its customer from one run to the next: its customer is
kept for the `SAMPLE` orders of the year before the as-of of lowest keyed hash of their id
(`pipelines.engines.chunks`' siphash: the same orders in every run while they are in that year, so two monthly
runs' samples share most of them, also when the export is a rolling window of the last years), keyed by that hash
(no id in the clear). Only (order id, customer id) is digested: a re-export of the same company restating its
amounts (net of tax or discount) or in another time zone (near-midnight orders a day apart) is still its own. Two
runs of one company agree on nearly every shared order; two companies numbering their orders alike almost never
give one order the same customer, and two numbering them differently share none (not judged: their customer ids
rarely match either).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.validation import StructuralError

#: Orders in a run's signature.
SAMPLE = 64
#: The signature's orders are of the year before the as-of: a run a month later holds 11/12 of them (a run more
#: than a year later, none: not judged), and a scoring run hashes a quarter of a 4-year history's orders (0.2 s a
#: million orders hashed).
WINDOW_DAYS = 365
#: Two runs sharing at least this many sampled orders are judged (fewer: orders numbered otherwise, not judged).
MIN_SHARED = 10
#: Below this share of the shared orders alike (the same customer), two runs are not one company's.
MIN_AGREEING = 0.5
#: What a model (and anything logged to MLflow) keeps of a signature (`coarse_signature`): each key's last hex
#: characters (24 bits: 64 keys almost never collide) and each value's first (4 bits: two companies' customers of
#: one order agree 1 time in 16, far below `MIN_AGREEING`; one value matches 1 customer id in 16, so trying a
#: company's ids pins none of them: 50 candidates in 800 customers, thousands in guessable `C000001`... ids).
COARSE_KEY_HEX = 6
COARSE_VALUE_HEX = 1


def base_signature(orders: pd.DataFrame, as_of: pd.Timestamp) -> dict[str, str]:
    """{keyed hash of an order id: digest of the order's id and customer} for the `SAMPLE` orders of lowest keyed
    hash among those of the `WINDOW_DAYS` before `as_of` (their amounts and times not digested: a re-export
    restating them is the same company's). `orders`: validated (order_id unique, customer_id, ordered_at). The
    hash is `pipelines.engines.chunks.customer_hash`'s, without its factorising (the ids are unique): 0.2 s a
    million orders hashed instead of 1.6 s."""
    from pipelines.engines.chunks import HASH_KEY

    when = orders["ordered_at"]
    at = np.flatnonzero(
        ((when < as_of) & (when >= as_of - pd.Timedelta(days=WINDOW_DAYS))).to_numpy(dtype=bool)
    )
    # the window's ids taken before they become Python objects (issue 14: every order's id made one, 2 CPU-s at 1M)
    ids = np.asarray(orders["order_id"].array.take(at).to_numpy(), dtype=object)
    hashes = pd.util.hash_array(ids, hash_key=HASH_KEY, categorize=False)
    k = min(SAMPLE, len(hashes))
    lowest = np.argpartition(hashes, k - 1)[:k] if k else np.empty(0, dtype=np.intp)
    rows = orders.iloc[at[lowest]]
    out = {}
    for key, order, customer in zip(hashes[lowest], rows["order_id"], rows["customer_id"], strict=True):
        text = f"{order}|{customer}"
        out[f"{int(key):016x}"] = hashlib.sha256(text.encode()).hexdigest()[:12]
    return dict(sorted(out.items()))


def coarse_signature(signature: Mapping[str, str] | None) -> dict[str, str] | None:
    """A `base_signature` cut so that no customer id can be recovered from it (`COARSE_KEY_HEX`,
    `COARSE_VALUE_HEX`), still telling another company's data over its orders (`other_base`): what a model's
    settings keep and a training logs to MLflow. Idempotent: a coarse signature is its own. Round 24's review,
    was: the model kept the full signature (12 hex characters of sha256 of "order|customer", the order's keyed
    hash whose key is in the source), logged in `model_contract.json`: every customer id of its 64 orders
    recovered by trying guessable ids, in 4 s. The score history keeps the full one (not MLflow)."""
    if signature is None:
        return None
    return {k[-COARSE_KEY_HEX:]: v[:COARSE_VALUE_HEX] for k, v in signature.items()}


def signature_param(signature: Mapping[str, str]) -> str:
    """A signature as a training's `data_signature` param (its backtest's `backtest_run.json`): its
    `coarse_signature`, `key:value` comma-separated (64 pairs, 575 characters: an MLflow param takes 6,000)."""
    return ",".join(f"{k}:{v}" for k, v in sorted((coarse_signature(signature) or {}).items()))


def signature_from_param(text: str) -> dict[str, str] | None:
    """`signature_param`'s text read back; None for "" (a training before it was recorded)."""
    return dict(pair.split(":", 1) for pair in text.split(",")) if text else None


def lowest_of(parts: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """The signature of orders split in `parts` (each its part's `base_signature`): the `SAMPLE` of lowest hash
    among theirs (the zero-padded hex keys sort as the hashes)."""
    merged = {k: v for part in parts for k, v in part.items()}
    return dict(sorted(merged.items())[:SAMPLE])


def signature_of(tables: Mapping[str, pd.DataFrame] | Any, as_of: pd.Timestamp) -> dict[str, str]:
    """A run's `base_signature`: from its tables' own when they give one (the Spark load's `SparkTables`, whose
    driver keeps no `order_id`: computed by Spark), otherwise from its orders."""
    own = getattr(tables, "base_signature", None)
    got = own(as_of) if own is not None else None
    return got if got is not None else base_signature(tables["orders"], as_of)


def signature_digest(signature: Mapping[str, str]) -> str:
    """A short digest of a `base_signature`: a training's `data_digest` param (its backtest's `backtest_run.json`),
    which `cvp models` compares with the champion's (`pipelines.registry._other_folds`). Two trainings as of one
    day on one company's orders give one digest (their amounts restated or not); another company's orders, or
    orders added to or renumbered in the year before the as-of, another: a backtest on other data (round 24, was:
    a version trained on another company's data listed as like for like beside the champion's backtest)."""
    text = "\n".join(f"{k} {v}" for k, v in sorted(signature.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def other_base(previous: Mapping[str, str] | None, this: Mapping[str, str] | None) -> tuple[int, int] | None:
    """(orders sampled in both, of them with the same customer) when two signatures (`base_signature`) say two
    companies' data; None when they agree or are not judged (one missing: recorded before signatures were; fewer
    than `MIN_SHARED` orders shared: orders numbered otherwise, or years apart). The one rule of
    `check_same_base` (a score history) and `model_base_note` (the model's training data)."""
    if not previous or not this:
        return None
    shared = set(previous) & set(this)
    if len(shared) < MIN_SHARED:
        return None
    agree = sum(previous[k] == this[k] for k in shared)
    return None if agree >= MIN_AGREEING * len(shared) else (len(shared), agree)


def check_same_base(
    previous_as_of: str, previous: dict[str, str] | None, this: dict[str, str] | None, what: str
) -> None:
    """Refuse (exit 2) to compare a run with the history's run as of `previous_as_of` when their signatures
    (`base_signature`) say they scored different companies' customers; runs recorded before runs had one are not
    judged."""
    other = other_base(previous, this)
    if other is None:
        return
    shared, agree = other
    raise StructuralError(
        f"{what}: the history's run as of {previous_as_of} scored another company's data: of {shared} orders "
        f"sampled in both runs (same order ids), {agree} have the same customer there as in this run's "
        "data. Ids alike, orders not: another company's history (or one kept across a migration that renumbered "
        "the customers or orders). Compared, stable tiers and transitions would be a stranger's. Give this "
        "company's own --history directory, or start a new history (a new, empty --history directory: the runs "
        "from now on are compared with each other only)"
    )


#: How `model_base_note` starts: the report pages find it among the manifest's `model_warnings` by it
OTHER_COMPANY_MODEL = "the model was trained on another company's data"


def model_base_note(trained: Mapping[str, str] | None, this: Mapping[str, str] | None) -> str | None:
    """What a scoring run says when the model was trained on another company's data than it scores: its
    training's signature (`base_signature` of the model's data settings, of the year before its training as-of)
    and the run's (`other_base`). None when alike or not judged (a model trained before models recorded one, or
    scored over a year after its training: no order in both). Round 24, was: a model of another company (another
    tenant's registry, `--model` of the wrong store) scored these customers, exit 0, not a word."""
    # the model keeps a coarse signature (`coarse_signature`); one trained before it did, the full one
    other = other_base(coarse_signature(trained), coarse_signature(this))
    if other is None:
        return None
    shared, agree = other
    return (
        f"{OTHER_COMPANY_MODEL}: of {shared} orders sampled both in its training data "
        f"and in this run's (same order ids), {agree} have the same customer in both. Ids alike, orders not: its "
        "scores are a model of other customers' behaviour (or this company's orders or customers were renumbered "
        "since its training). Score with this company's model (`--model`, or the registry of its config: "
        "`mlflow.tracking_dir`, `mlflow.registered_model`), or train one (`cvp train`)"
    )
