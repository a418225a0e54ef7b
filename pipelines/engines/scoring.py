"""What every scoring engine shares: score a feature table, finish the whole base, the settings of a run.

- `score_features`: predictions, exact contributions and top reasons for one feature table (a chunk or a Spark
  batch); `ContractMismatch` when its columns are not the model's.
- `finish_scores`: the whole-base steps on the compact per-customer frame (statuses, tiers and ratings rank the
  whole base, flags, ids, as-of, version, manager, one column order).
- `eligible`: which feature rows are `scored` (the one population rule, `features.population`).
- `model_extras`: model inputs that are not per-customer features (BTYD outputs).
- `resolve_settings`, `run_policy`: the settings a run builds features with, and the policy it applies after.
- `EngineRun`: what a backend hands back to `pipelines.engines.run.run_score`.

Output (one row per customer, sorted by customer_id; no personal columns): customer_id, as_of, model_version,
the model's prediction columns (horizon in the names), tier, tier_reason, rating, flags, the top reasons for value
and churn (stored compactly: `models.reason_text`), account_manager_id, and the feature columns the tier rules and reports
read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.extensions import take

from features import feature_registry
from features.as_trained import carried_values, model_view, stated_values
from features.population import SCORED, customer_status
from features.validation import StructuralError
from models.bundle import CustomerValueModel
from models.explain import churn_probability_contributions, explain_with_raw, reason_choices
from models.tiers import assign_tiers
from pipelines.config import AppConfig
from pipelines.engines.chunks import hash_sample, status_input
from pipelines.engines.spill import ReasonSpill

#: Event keys no scoring step reads once validation has checked them unique (orders keep `order_id`: the
#: early-life features of new customers break ties on it).
UNREAD_KEYS: dict[str, tuple[str, ...]] = {
    "returns": ("return_id",),
    "tickets": ("ticket_id",),
    "invoices": ("invoice_id",),
}


def drop_unread_columns(tables: dict[str, pd.DataFrame]) -> None:
    """Drop, in place, the columns no scoring step reads: every table's personal columns (reports only) and the
    event keys of `UNREAD_KEYS`. Run after the data fingerprint has hashed them (the run id covers them). At a
    million customers they are about 0.3 GB of the resident tables (issue 14: the peak while scoring); the
    tables' dict is the loaded data's own, so the dropped columns are freed."""
    for name, frame in list(tables.items()):
        drop = unread_columns(name, frame.columns)
        if drop:
            tables[name] = frame.drop(columns=drop)


def unread_columns(name: str, columns: Any) -> list[str]:
    """Of `columns`, those of table `name` no scoring step reads (`drop_unread_columns`)."""
    from features.contract import TABLES

    unread = set(UNREAD_KEYS.get(name, ())) | set(TABLES[name].personal)
    return [c for c in columns if c in unread]


#: What `finish_scores` adds from the tier rules; a backend that assigned them already (Spark) hands them in.
TIER_COLUMNS = ("tier", "tier_reason", "rating", "flags")


class ContractMismatch(StructuralError):
    """The features built from the data do not match what the model was trained on."""


@dataclass
class ChunkResult:
    scores: pd.DataFrame  # index customer_id
    value_contrib: pd.DataFrame
    features: pd.DataFrame
    spot_checked_rows: int
    #: feature -> category value unseen in training -> rows (scored as missing)
    unseen_categories: dict[str, dict[str, int]] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)
    #: churn contributions in probability points (`churn_probability_contributions`), same rows (issue 15)
    churn_contrib: pd.DataFrame | None = None


def scored_customer_ids(status: pd.DataFrame) -> pd.Index:
    """The ids of the customers a run scores (`status` == `SCORED`), in the status table's order: both engines'
    lookups of who is scored and which are spot-checked read it."""
    return pd.Index(status.loc[(status["status"] == SCORED).to_numpy(), "customer_id"])


def spot_check_ids(scored_ids: pd.Index | np.ndarray, rows: int) -> pd.Index:
    """The one rule of which customers the run's explanations are spot-checked on (`explain.check_rows` = `rows`
    per model in all), both engines: the `rows` scored customers of `chunks.hash_sample` (lowest keyed hash of
    the id as text, the training sample's rule); empty = none checked. Chosen by id once per run, not by position
    in a chunk or batch: the same customers, so the same count in the manifest, whatever the engine, its batch
    size or `scoring.chunk_customers` (was: the Spark engine checked `explain.check_rows` rows per Arrow batch,
    600 at 20k customers against the pandas engine's 200, moving with the batch size). Each batch then only
    looks its ids up among these (`spot_check_rows`), never hashes them again."""
    if rows <= 0 or not len(scored_ids):
        return pd.Index([], dtype=object)
    return pd.Index(hash_sample(_as_text(scored_ids), rows), dtype=object)


def spot_check_rows(
    ids: pd.Index | np.ndarray, chosen: pd.Index | None, among: np.ndarray | None = None
) -> np.ndarray:
    """Positions of `ids` (restricted to `among`, a mask of the scored rows) among the `chosen` ones
    (`spot_check_ids`)."""
    if chosen is None or not len(chosen) or not len(ids):
        return np.empty(0, dtype=np.intp)
    picked = _as_text(ids).isin(chosen)
    if among is not None:
        picked &= among
    return np.flatnonzero(picked)


def _as_text(ids: pd.Index | np.ndarray) -> pd.Index:
    # the ids as text, as the Spark engine holds them (no copy when they are already)
    index = pd.Index(ids)
    return index if index.dtype == object or pd.api.types.is_string_dtype(index.dtype) else index.astype(str)


def merge_counts(total: dict[str, dict[str, int]], part: Mapping[str, Mapping[str, int]]) -> None:
    """Add one chunk's unseen-category counts into the run's."""
    for col, counts in part.items():
        into = total.setdefault(col, {})
        for value, n in counts.items():
            into[value] = into.get(value, 0) + int(n)


def model_extras(
    tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, bundle: CustomerValueModel
) -> tuple[pd.DataFrame | None, list[str]]:
    """Model inputs that are not per-customer features: BG/NBD + Gamma-Gamma outputs when the model uses them.

    BTYD is fitted once on every customer's orders before as-of (population parameters need the whole base),
    then joined chunk by chunk. Returns (frame indexed by customer_id, or None; warnings).
    """
    if not bundle.config.use_btyd_features:
        return None, []
    from models.baselines import add_btyd_features

    fetch = getattr(tables, "with_order_ids", None)  # a Spark load's driver keeps no orders' ids (issue 11)
    tables = tables if fetch is None else fetch()

    ids = pd.Index(
        tables["orders"].loc[tables["orders"]["ordered_at"] < as_of, "customer_id"].unique()
    ).sort_values()
    frame = pd.DataFrame({"customer_id": ids.to_numpy(), "cutoff": as_of})
    with_btyd, notes = add_btyd_features(frame, tables, bundle.horizon_days, bundle.config.btyd_penalizer)
    extras = with_btyd.drop(columns=["customer_id", "cutoff"]).set_axis(ids)
    return extras, notes


def score_features(
    features: pd.DataFrame,
    bundle: CustomerValueModel,
    cfg: AppConfig,
    check_rows: int | np.ndarray | None = None,
    extras: pd.DataFrame | None = None,
) -> ChunkResult:
    """Predictions, exact contributions and top reasons for a feature table (index customer_id).

    The reasons are stored compactly (`models.explain.reason_choices`: feature, value, effect per reason); their
    sentences are rendered where a person reads them (`models.reason_text.with_reason_sentences`).

    `extras` (from `model_extras`) adds model-only inputs such as BTYD outputs, aligned by customer_id. The carried
    features (`AppConfig.carried_features`) come from the `AS_DATA` columns when the table has them (the model's
    features built as trained, those of all the data beside them: `features.as_trained`).
    `check_rows`: rows of this table each model's contributions are spot-checked on against LightGBM's
    `pred_contrib`: a count (default `explain.check_rows`), or their positions (a run's engines pass those of
    `spot_check_rows`, the run's one rule).
    The predictions reuse the explanations (issue 14): each explainable booster's raw score comes from the
    explainer's own pass (`explain_with_raw`: LightGBM's bits, checked on rows spread over the chunk), the value
    model's `pred_value_{h}d` being its booster's raw output and the churn probability derived from the churn
    booster's (`CustomerValueModel.predict_from_raw`); so neither booster predicts every row again.
    """
    # the carried features from all the data; the model reads its own, built as trained (`features.as_trained`)
    carried = carried_values(features, cfg.carried_features())
    whole, features = features, model_view(features)
    if extras is not None:
        features = features.join(extras.reindex(features.index))
    problems, unseen, ignored = bundle.grade_contract(features)
    if problems:
        raise ContractMismatch(
            "the features built from this data do not match the model's feature contract:\n  - "
            + "\n  - ".join(problems)
        )
    h = bundle.horizon_days
    registry = feature_registry(cfg.features)
    n_check = cfg.explain.check_rows if check_rows is None else check_rows
    Xt = bundle.contract_.apply(features)
    boosters = bundle.explainable_boosters()
    value_contrib, value_raw = pd.DataFrame(index=features.index), None
    if "value" in boosters:
        value_contrib, value_raw = explain_with_raw(boosters["value"], Xt, n_check)
    churn_logodds, churn_raw = explain_with_raw(boosters["churn"], Xt, n_check)
    preds = bundle.predict_from_raw(features, Xt, value_raw, churn_raw)
    parts = [preds]
    stated = stated_values(features, whole)  # what a reason's sentence says: the data's values
    if "value" in boosters:
        parts.append(reason_choices(value_contrib, stated, registry, cfg.explain.n_reasons, "value"))
    base_raw = 1.0 / (1.0 + np.exp(-churn_logodds["_base"].to_numpy()))
    base_prob = bundle.churn_model_.calibrate(base_raw)
    churn_prob = churn_probability_contributions(churn_logodds, preds[f"pred_churn_prob_{h}d"], base_prob)
    parts.append(reason_choices(churn_prob, stated, registry, cfg.explain.n_reasons, "churn"))
    parts.append(carried)
    scores = pd.concat(parts, axis=1)
    n_checked = len(n_check) if isinstance(n_check, np.ndarray) else min(n_check, len(features))
    result = ChunkResult(scores, value_contrib, features, n_checked, unseen, ignored)
    result.churn_contrib = churn_prob  # issue 15: written beside the value contributions
    return result


def id_order(indexes: list[pd.Index]) -> np.ndarray:
    """The positions that sort these indexes' ids, concatenated, as text; equal ids keep their order. Arrow's
    stable sort of the UTF-8 bytes (issue 14: 0.46 CPU-s on 1M ids, numpy's sort of them as `str` 0.76): the
    code-point order numpy's gives, an id holding no NUL (`features.ids` rejects invisible characters)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = [pa.array(ix.astype("str").array).cast(pa.large_string()) for ix in indexes]
    return pc.sort_indices(pa.chunked_array(chunks, type=pa.large_string())).to_numpy().astype(np.intp)


def finish_scores(
    compact: pd.DataFrame | list[pd.DataFrame],
    tables: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    model_version: str,
    bundle: CustomerValueModel,
    cfg: AppConfig,
    status: pd.DataFrame | None = None,
    managers: pd.Series | None = None,
) -> pd.DataFrame:
    """Whole-base steps on the compact frame: tiers, ratings, flags; ids, as-of, version, manager; column order.

    `managers`: `customer_managers` of the statuses' ids, when the caller let go of the tables before the finish
    (the Spark driver, issue 11); otherwise read from `tables`.

    Every customer known in any table gets a row with `status` and `status_reason` (`features.population`;
    computed here when not given). Only `scored` rows keep predictions, reasons, tiers, ratings and flags; the
    tier and rating cut points rank the scored rows only.

    Given the list of per-chunk frames, the list is emptied as they are combined, so at most two copies of the
    scores are alive at once (a million customers' reason sentences are hundreds of megabytes).
    """
    if isinstance(compact, list):
        parts = compact
        order = id_order([p.index for p in parts])
        combined = pd.concat(parts)
        parts.clear()
        out = combined.take(order)
        del combined
    else:
        out = compact.sort_index()
    if status is None:
        status = customer_status(status_input(tables, as_of), as_of, cfg.labels)
    status = status.set_index("customer_id")
    out.index = out.index.astype("str")
    if not out.index.equals(status.index):
        out = out.reindex(status.index)  # customers with no feature row (first seen after as-of) included
    given = None  # tiers the backend assigned with the whole base's cut points (Spark: on the executors)
    if set(TIER_COLUMNS) <= set(out.columns):
        given, out = out[list(TIER_COLUMNS)], out.drop(columns=list(TIER_COLUMNS))
    scored = (status["status"] == SCORED).to_numpy()
    for col in bundle.output_columns:  # the schema does not depend on how many customers were scored
        if col not in out.columns:
            out[col] = np.nan
    # One column order whichever rows came first (a chunk of only unscored customers carries no predictions):
    # predictions, reasons, then the carried features, as `score_features` orders them.
    reasons = [c for c in out.columns if c.startswith(("value_reason_", "churn_reason_"))]
    rest = [c for c in out.columns if c not in bundle.output_columns and c not in reasons]
    order = [*bundle.output_columns, *reasons, *rest]
    if list(out.columns) != order:
        out = out[order]
    blank = [c for c in out.columns if c.startswith(("pred_", "value_reason_", "churn_reason_"))]
    if not scored.all() and blank:
        out.loc[~scored, blank] = np.nan  # only scored rows carry predictions and reasons
    if scored.any():
        if given is None:
            tiers = assign_tiers(out[scored], cfg.tiers, bundle.horizon_days)
        else:  # the rules skipped depend on the columns only: those of no row
            tiers = given[scored]
            tiers.attrs["skipped_rules"] = assign_tiers(out.iloc[:0], cfg.tiers, bundle.horizon_days).attrs[
                "skipped_rules"
            ]
        positions = _positions_in(tiers.index, out.index, scored)
        for col in tiers.columns:  # added column by column: a join would copy every score column once more
            values = pd.Series(take(tiers[col].array, positions, allow_fill=True), index=out.index, name=col)
            out[col] = values.astype("str") if col in ("tier", "rating") else values
        skipped = tuple(tiers.attrs.get("skipped_rules", ()))
    else:  # nobody to tier (e.g. stale data scored with --allow-stale: every customer lapsed)
        for col in ("tier", "tier_reason", "rating", "flags"):
            out[col] = pd.Series(pd.NA, index=out.index, dtype="str")
        skipped = ()
    out["flags"] = out["flags"].fillna("")
    out["tier_reason"] = out["tier_reason"].astype("str")
    out["status"] = status["status"].to_numpy()
    out["status_reason"] = status["status_reason"].to_numpy()
    out.insert(0, "model_version", model_version)
    out.insert(0, "as_of", as_of)
    if managers is None:
        managers = customer_managers(tables, out.index)
    elif not managers.index.equals(out.index):
        managers = managers.reindex(out.index)
    out["account_manager_id"] = managers
    out.index.name = "customer_id"
    out = out.reset_index()
    out.attrs["skipped_rules"] = skipped
    return out


def customer_managers(tables: Mapping[str, pd.DataFrame], ids: pd.Index) -> pd.Series:
    """The account manager of each customer of `ids` (`customers.account_manager_id`, empty when unknown): the
    output's `account_manager_id`."""
    cust = tables.get("customers")
    if cust is None or "account_manager_id" not in cust.columns:
        return pd.Series(pd.NA, index=ids, dtype="str")
    return cust.set_index("customer_id")["account_manager_id"].reindex(ids).astype("str")


def _positions_in(rows: pd.Index, index: pd.Index, scored: np.ndarray) -> np.ndarray:
    """For each id of `index`, its position in `rows` (-1: absent), as `rows.get_indexer(index)`. `rows` are
    usually the `scored` ids of `index` in its order (the tiers of the scored rows): then the positions follow
    from the mask, without hashing a million ids (issue 14: one hash lookup per tier column was the finish's
    largest cost)."""
    if len(rows) == int(scored.sum()) and rows.equals(index[scored]):
        positions = np.full(len(index), -1, dtype=np.intp)
        positions[scored] = np.arange(len(rows), dtype=np.intp)
        return positions
    return rows.get_indexer(index)


def eligible(
    features: pd.DataFrame, tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, cfg: AppConfig
) -> np.ndarray:
    """Which rows of a feature table have status `scored` (the one population rule, `features.population`).

    Only these are predicted, tiered and explained; drift compares them with the training distribution, which
    holds only such customers.
    """
    status = customer_status(tables, as_of, cfg.labels).set_index("customer_id")["status"]
    return (status.reindex(features.index.astype("str")) == SCORED).to_numpy(dtype=bool)


def contract_stop(bundle: CustomerValueModel, cfg: AppConfig) -> str | None:
    """Why no run of configuration `cfg` can score with `bundle`, whatever its data and as-of (None: none can
    be told before the data is read). One rule for `cvp score` (`resolve_settings`, exit 2) and `cvp models
    promote` (refused there, `pipelines.registry.promote_version`: was promoted, exit 0, and every next run
    stopped). Another currency: not a setting the model can impose, the data's amounts ARE in the run's."""
    data = (bundle.contract_settings() or {}).get("data") or {}
    if data.get("currency") in (None, cfg.data.currency):
        return None
    return (
        f"data.currency: the model was trained on amounts in {data['currency']}, this run's data is in "
        f"{cfg.data.currency}; the model's amounts and thresholds would be read in the wrong currency. "
        f"Convert the data to {data['currency']}, or train a model on {cfg.data.currency} data"
    )


def resolve_settings(
    bundle: CustomerValueModel,
    cfg: AppConfig,
    mapping_sha256: str | None,
    strict: bool,
    mapping_zone: str | None = None,
    other: str | None = None,
) -> tuple[AppConfig, list[str], list[str]]:
    """The configuration a scoring run builds features with: the model's own feature and label settings.

    Returns (effective config, differences "key: model X, config Y", notes). Settings applied after prediction
    (tiers, flags, report text, explain) stay the run's policy. With `strict`, any difference refuses the run.
    A model saved before models carried their settings falls back to the run's configuration, with a note.
    `mapping_zone`: the `timezone:` the run's mapping names (its data read in it, `cfg.data.timezone` too).
    `other`: what `cfg` and `mapping_sha256` are when not a run's ("champion v1": `cvp models promote`), the name
    the differences give that side.
    """
    stored = bundle.contract_settings()
    if stored is None:
        return (
            cfg,
            [],
            [
                "this model was registered before models carried their feature and label settings: "
                "features are built with the run's configuration (retrain to pin them)"
            ],
        )
    model_side = {
        "features": stored["features"],
        "labels": stored["labels"],
        "mapping_digest": stored["mapping_digest"],
    }
    run_side = {
        "features": cfg.features.model_dump(mode="json"),
        "labels": cfg.labels.model_dump(mode="json"),
        "mapping_digest": mapping_sha256,
    }
    diffs: list[str] = []
    side, run = other or "config", other or "run"
    data = stored.get("data") or {}
    stop = contract_stop(bundle, cfg)
    if stop:
        raise StructuralError(stop)
    # imposed (below), as the feature settings are: timestamps with an offset or zone become the model's wall-clock
    # time, as in training (was: converted into the run's zone, every such timestamp shifted, while the warning said
    # the model's settings were used; naive timestamps are read as written either way); the sanity bounds accept
    # the rows training accepted (was: a tighter `max_values` rejected a customer's large orders, exit 0)
    data = dict(data)
    if mapping_zone and model_side["mapping_digest"] == mapping_sha256:
        # the model's own mapping read its training data in this zone (a model trained before the zone read was
        # recorded holds its config's `data.timezone`: was a false difference, `--strict` refused)
        data["timezone"] = mapping_zone
    imposed = {
        key: data[key]
        for key in ("timezone", "max_values")
        if data.get(key) is not None and data[key] != getattr(cfg.data, key)
    }
    if mapping_zone and "timezone" in imposed:
        # another mapping naming another zone: the data is read in the zone it names, as its digest is not imposed
        diffs.append(
            f"data.timezone: model {imposed.pop('timezone')}, run's mapping {mapping_zone} (not imposed: the "
            "run's mapping names the zone its data is read in; give the model's mapping, or --strict refuses)"
        )
    for key, value in imposed.items():
        diffs.append(f"data.{key}: model {value}, {side} {getattr(cfg.data, key)}")
    for section in ("features", "labels"):
        for key in sorted(set(model_side[section]) | set(run_side[section])):
            a, b = model_side[section].get(key), run_side[section].get(key)
            if a != b:
                diffs.append(f"{section}.{key}: model {a}, {side} {b}")
    if model_side["mapping_digest"] != run_side["mapping_digest"]:
        short = {
            k: (v[:12] if v else "none")
            for k, v in (("m", model_side["mapping_digest"]), ("r", mapping_sha256))
        }
        # not imposed: the model holds the digest of its mapping, not the mapping (was: listed under "the model's
        # settings are used", while the data was read through the run's mapping, or none)
        how = (
            "not imposed: the data is read through the run's mapping, or none; give the model's mapping, or "
            "--strict refuses"
            if other is None
            else f"not imposed: the scoring runs' --mapping is {other}'s; give this version's mapping to them, or "
            "--strict refuses"
        )
        diffs.append(f"mapping (sha256): model {short['m']}, {run} {short['r']} ({how})")
    if diffs and strict:
        raise StructuralError(
            "--strict: the run's settings differ from the model's:\n  - " + "\n  - ".join(diffs)
        )
    effective = cfg.with_model_settings(bundle.feature_config, bundle.label_config)
    return (effective.with_data(**imposed) if imposed else effective), diffs, []


def settings_used(cfg: AppConfig) -> dict[str, Any]:
    """The settings a scoring run built its features with (the model's: `resolve_settings`), in its manifest; the
    data ones (time zone, bounds) are those its readers load the data with (`pipelines.fingerprint.with_run_settings`)."""
    return {
        "features": cfg.features.model_dump(mode="json"),
        "labels": cfg.labels.model_dump(mode="json"),
        "data": {"timezone": cfg.data.timezone, "max_values": dict(cfg.data.max_values)},
    }


def run_policy(cfg: AppConfig) -> dict[str, Any]:
    """Settings applied after prediction (the run's policy, recorded in the manifest)."""
    return {
        "tiers": cfg.tiers.model_dump(mode="json"),
        "explain": cfg.explain.model_dump(mode="json"),
        "report": cfg.report.model_dump(mode="json"),
    }


@dataclass
class EngineRun:
    """What a scoring backend hands back to `run_score`, which finishes the base and writes the output set.

    compact: the per-customer compact scores (index customer_id): `score_features`' columns for scored
    customers, the carried features for the others; one frame or a list of per-chunk frames. timings: the
    backend's own stages (seconds). checked: rows whose contributions were checked against LightGBM. info:
    what else the backend reports in the manifest (pandas: notes, unseen categories, ignored columns). spill:
    where the reason columns went when the backend was asked to spill them (`compact` then has none).
    """

    compact: pd.DataFrame | list[pd.DataFrame]
    timings: dict[str, float]
    checked: int
    info: dict[str, Any] = field(default_factory=dict)
    spill: ReasonSpill | None = None
