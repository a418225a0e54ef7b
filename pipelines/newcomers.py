"""New customers in `cvp score`: status `new` and the registered lookalike model's score (issue 12).

`score_newcomers` runs after the engine has finished the whole base (`pipelines.engines.run.run_score` calls it,
for both engines). Customers in their first weeks whom the population rule leaves `no_orders_yet` or `lapsed`
(`features.population.new_customers`) get `status` `new`, a plain `status_reason`, and from the lookalike model
carried with the main models (`CustomerValueModel.lookalike_`, fitted by `cvp train`; never refitted here):

- `lookalike_prob_great`: P(great after the horizon), `lookalike_expected_value`: expected net profit over it;
- `lookalike_reason_1..n`: the top reasons in words (exact TreeSHAP of the classifier, largest first);
- `provisional_tier`: a tier suggestion marked "(provisional)". The main `tier` stays empty: only the tier rules
  on the main models' predictions decide it.

Every other row keeps its status and has these columns empty; the columns are there in every run (the schema does
not depend on who is new). A model registered before it carried a lookalike model scores as before (newcomers
keep the status the population rule gives them, `no_orders_yet` or `lapsed`), and the run says so: a warning
counting them by status (`early_days` of the run's config), a note when nobody is in their first weeks. The early-life features are built with the lookalike model's own
contract (`early_days`, attributes); `profile.lookalike.great_probability` and `n_reasons` are the run's policy.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from features.population import NEW, new_customers

#: The lookalike columns of the scores (plus `lookalike_reason_1..n`), in this order, at the end of the row.
LOOKALIKE_COLUMNS = ("lookalike_prob_great", "lookalike_expected_value")
PROVISIONAL_TIER = "provisional_tier"


def _empty_columns(scores: pd.DataFrame, n_reasons: int) -> pd.DataFrame:
    out = scores.copy(deep=False)
    for col in LOOKALIKE_COLUMNS:
        out[col] = np.nan
    for k in range(n_reasons):
        out[f"lookalike_reason_{k + 1}"] = pd.Series(pd.NA, index=out.index, dtype="str")
    out[PROVISIONAL_TIER] = pd.Series(pd.NA, index=out.index, dtype="str")
    return out


def _newcomer_ids(customer_id: pd.Series, status: Any, early_index: pd.Index) -> tuple[np.ndarray, pd.Index]:
    """(which rows are new, their ids as text, in row order): `features.population.new_customers`."""
    text = customer_id.astype("str")
    is_new = new_customers(pd.Series(np.asarray(status), index=text), early_index)
    return is_new, pd.Index(text[is_new], name="customer_id")


def early_tables(
    tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, days: int
) -> Mapping[str, pd.DataFrame]:
    """The tables `early_life_features` reads at `as_of` with `days`: a Spark load's driver keeps no early-life
    inputs and fetches them for the customers in their first weeks (`SparkTables.early_life_tables`, issue 11)."""
    fetch = getattr(tables, "early_life_tables", None)
    return tables if fetch is None else fetch(as_of, days)


def early_life_ids(tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, days: int) -> pd.Index:
    """The ids of the customers in their first `days` days (`early_life_features` with no model's attributes):
    who would be new when the model carries no lookalike model."""
    from features.early_life import early_life_features

    return early_life_features(early_tables(tables, as_of, days), as_of, days, ()).index


class EarlyLife:
    """The new customers' early-life features (`features.early_life.early_life_features`, with the lookalike
    model's contract), computed on a background thread from `start` on (issue 14: `run_score` starts them when
    the chunk loop ends, so they are built while the whole base is finished) or, not started, when asked for
    (one thread: `OMP_NUM_THREADS=1`). An error building them is raised where they are asked for. `close` waits
    for the thread. Given the statuses (`status`: customer_id and status, the run's) and the run's config (its
    lookalike policy and currency), the new customers are scored there too (`scored`): `score_newcomers` takes that score when its
    scores find the same new customers, and scores them itself otherwise."""

    def __init__(
        self,
        tables: Mapping[str, pd.DataFrame],
        as_of: pd.Timestamp,
        bundle: Any,
        status: pd.DataFrame | None = None,
        cfg: Any = None,
        as_trained: Any = None,
    ) -> None:
        self._args = (tables, as_of, getattr(bundle, "lookalike_", None))
        self._as_trained = (
            as_trained  # `features.as_trained.AsTrained`: the inputs the lookalike model was trained on
        )
        given = status is not None and cfg is not None
        #: the run's lookalike policy (its `early_days`: who would be new without a lookalike model), what `hold` built
        self._policy = None if cfg is None else cfg.profile.lookalike
        self._held: pd.DataFrame | tuple[int, pd.Index] | None = None
        self._let_go = False  # `hold` let go of the tables
        self._new = (status, cfg.profile.lookalike, cfg.data.currency) if given else None
        self._scored: tuple[pd.Index, Any, str, pd.DataFrame] | None = None
        self._pool: Any = None
        self._pending: Any = None

    def _build(self) -> pd.DataFrame:
        from features.early_life import early_life_features

        tables, as_of, model = self._args
        days = int(model.early_days)
        early = early_tables(tables, as_of, days)
        if self._as_trained:  # a table or column the training data lacked: left out, as trained
            early = self._as_trained.apply(early)
        frame = early_life_features(early, as_of, days, model.attributes)
        if self._new is not None:  # issue 14: the lookalike score too, off the main thread
            from models.lookalike import score_new_customers

            status, policy, currency = self._new
            self._new = None
            ids = _newcomer_ids(status["customer_id"], status["status"], frame.index)[1]
            if len(ids):
                self._scored = (
                    ids,
                    policy,
                    currency,
                    score_new_customers(model, frame.loc[ids], policy, currency),
                )
        return frame

    def scored(self, frame: pd.DataFrame, ids: pd.Index, policy: Any, currency: str) -> pd.DataFrame:
        """`models.lookalike.score_new_customers` of these new customers (`frame`: their early-life features):
        the one computed beside the finish when it scored the same ids with the same policy."""
        done, self._scored = self._scored, None
        if done is not None and done[0].equals(ids) and done[1] == policy and done[2] == currency:
            return done[3]
        from models.lookalike import score_new_customers

        return score_new_customers(self._args[2], frame, policy, currency)

    def hold(self) -> None:
        """Build now and keep the result, letting go of the tables: the finish then reads no table (issue 11: the
        Spark driver lets its tables go before it collects the compact scores, `run_score`). Without a lookalike
        model, the ids of who would be new at the run's `early_days` (`held_ids`)."""
        tables, as_of, model = self._args
        if model is not None:
            self._held = self._build()
        elif self._policy is not None:
            days = int(self._policy.early_days)
            self._held = (days, early_life_ids(tables, as_of, days))
        self._args = ({}, as_of, model)
        self._let_go = True

    def held_ids(self, days: int) -> pd.Index | None:
        """`early_life_ids` at `days` kept by `hold`, else None (no hold: the tables are still there). Asked for
        other days than those held, or after a hold that kept no ids, the tables are gone: an error, never the new
        customers of emptied tables."""
        held = self._held
        if isinstance(held, tuple) and held[0] == days:
            return held[1]
        if self._let_go:
            raise RuntimeError(
                f"the new customers at {days} days were not held before the tables were let go"
            )
        return None

    def start(self) -> None:
        from models.threads import prediction_threads

        if (
            self._args[2] is None
            or self._held is not None
            or self._pending is not None
            or prediction_threads() < 2
        ):
            return
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="early-life")
        self._pending = self._pool.submit(self._build)

    def result(self) -> pd.DataFrame:
        if isinstance(self._held, pd.DataFrame):
            return self._held
        if self._pending is None:
            return self._build()
        try:
            return self._pending.result()
        finally:
            self.close()

    def close(self) -> None:
        self._pending = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def score_newcomers(
    scores: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    bundle: Any,
    cfg: Any,
    console: Any = None,
    early: EarlyLife | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(scores with status `new` and the lookalike columns, what the manifest records under `lookalike`).
    `early`: the early-life features of these tables, maybe being built already (`EarlyLife`)."""
    t0 = time.perf_counter()
    policy = cfg.profile.lookalike
    out = _empty_columns(scores, policy.n_reasons)
    model = getattr(bundle, "lookalike_", None)
    if model is None:
        # said once the set is published, as one of the manifest's warnings (`score_console.closing_warnings`)
        note = str(getattr(bundle, "lookalike_note_", "")) or "the model carries no lookalike model"
        # who would be new (the run's `early_days`: no model's contract), by the status they keep (`BECOMES_NEW`)
        days = int(policy.early_days)
        status = pd.Series(out["status"].to_numpy(), index=out["customer_id"].astype("str"))
        held = None if early is None else early.held_ids(days)
        early_ids = early_life_ids(tables, as_of, days) if held is None else held
        kept = status[new_customers(status, early_ids)]
        counts = {str(k): int(v) for k, v in kept.value_counts().sort_index().items()}
        return out, {
            "model": False,
            "note": note,
            "new_customers": 0,
            "early_days": days,
            "kept_status": counts,
        }
    early = early or EarlyLife(tables, as_of, bundle)
    features = early.result()
    is_new, ids = _newcomer_ids(out["customer_id"], out["status"].to_numpy(), features.index)
    info: dict[str, Any] = {
        "model": True,
        "early_days": int(model.early_days),
        "training_rows": int(model.n_rows),
        **{k: v for k, v in model.facts.items() if k in ("backtest", "cutoffs", "top_share", "horizon_days")},
        "new_customers": len(ids),
    }
    if len(ids):
        frame = features.loc[ids]
        scored = early.scored(frame, ids, policy, cfg.data.currency)
        rows = np.flatnonzero(is_new)
        for col in scored.columns:  # each column replaced whole: the caller's frame is never written to
            column = out[col].copy()
            column.iloc[rows] = scored[col].to_numpy()
            out[col] = column
        since = frame["early_days_since_signup"].to_numpy()
        ordered = frame["early_has_order"].to_numpy() > 0
        signed = (as_of - pd.to_timedelta(since, unit="D")).strftime("%Y-%m-%d").to_numpy(dtype=object)
        what = np.where(ordered, "in their first weeks", "no order yet")
        reason = (
            "new customer: signed up on " + signed + ", " + what + f" (within {int(model.early_days)} days); "
            "scored by the lookalike model, the tier is a provisional suggestion"
        )
        for col, values in (("status", np.full(len(ids), NEW, dtype=object)), ("status_reason", reason)):
            column = out[col].copy()
            column.iloc[rows] = values
            out[col] = column
    info["seconds"] = round(time.perf_counter() - t0, 3)
    if console is not None and len(ids):
        console.print(
            f"new customers: {len(ids):,} scored by the registered lookalike model (status new, provisional tier)"
        )
    return out, info


__all__ = ["LOOKALIKE_COLUMNS", "PROVISIONAL_TIER", "EarlyLife", "early_life_ids", "score_newcomers"]
