"""Batch scoring: chunked by customer hash, atomic, idempotent, with drift checks. pandas engine here; Spark in
`pipelines.spark`.

One chunk = the customers whose id hashes to it, with only their events (plus the events of the customers they
referred, whose profit is part of a referrer's worth), so peak memory beyond the input tables is bounded by the
chunk size. Company-wide quantities (revenue for the concentration share) are computed once over all customers
and handed to every chunk, so a customer's features do not depend on the chunking. Tiers and ratings rank the
whole base, so they are assigned once at the end on the compact per-customer frame.

Output (one row per customer, sorted by customer_id; no personal columns): customer_id, as_of, model_version,
the model's prediction columns (horizon in the names), tier, tier_reason, rating, flags, the top reasons for value
and churn (sentences and feature names), account_manager_id, and the feature columns the tier rules and reports
read. Beside it: `<stem>.contributions.parquet` (exact value-model SHAP per customer and feature, currency) and
`<stem>.manifest.json` (counts, model version, data fingerprint, config digest, timings, drift).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features import build_feature_table, feature_registry
from features.population import SCORED, customer_status
from features.table import company_revenue
from features.validation import StructuralError
from models.bundle import CustomerValueModel, reference_proportions
from models.explain import churn_probability_contributions, explain_booster, top_reasons
from models.tiers import assign_tiers
from pipelines.config import AppConfig, load_config

HASH_KEY = "cvp-chunk-key-01"  # 16 bytes, fixed: the same customer always lands in the same chunk
#: Tables whose rows belong to one customer (column), chunked with that customer.
CUSTOMER_TABLES: dict[str, str] = {
    "orders": "customer_id",
    "returns": "customer_id",
    "tickets": "customer_id",
    "invoices": "customer_id",
    "customers": "customer_id",
    "assignments": "customer_id",
}
#: Feature columns carried into the output for the tier rules and the reports (when present).
CARRIED_FEATURES = (
    "profit_net_365d",
    "profit_margin_365d",
    "profit_cost_to_serve_365d",
    "profit_revenue_share_365d",
    "service_effort_hours_365d",
    "price_return_rate_value_365d",
    "price_discount_rate_365d",
    "price_promo_order_share_365d",
    "payment_dispute_share_lifetime",
    "relationship_manager_departed_90d",
)


class ContractMismatch(StructuralError):
    """The features built from the data do not match what the model was trained on."""


def customer_buckets(ids: pd.Series | np.ndarray, n_chunks: int) -> np.ndarray:
    """Stable chunk number per customer id (siphash with a fixed key: same on every machine and run)."""
    values = np.asarray(ids, dtype=object)
    h = pd.util.hash_array(values, hash_key=HASH_KEY, categorize=True)
    return (h % np.uint64(n_chunks)).astype(np.int64)


@dataclass
class ChunkPlan:
    """Row positions per table and chunk (own rows plus the rows of customers they referred)."""

    n_chunks: int
    rows: dict[str, list[np.ndarray]]
    customers: list[np.ndarray]  # the ids each chunk scores (sorted)

    def tables(self, tables: Mapping[str, pd.DataFrame], k: int) -> dict[str, pd.DataFrame]:
        out = {name: tables[name].iloc[self.rows[name][k]] for name in self.rows}
        for name in tables:
            if name not in out:  # account_managers: small, shared by every chunk
                out[name] = tables[name]
        return out


def _split(bucket: np.ndarray, n: int) -> list[np.ndarray]:
    order = np.argsort(bucket, kind="stable")
    bounds = np.searchsorted(bucket[order], np.arange(n + 1))
    return [np.sort(order[bounds[k] : bounds[k + 1]]) for k in range(n)]


def plan_chunks(tables: Mapping[str, pd.DataFrame], chunk_customers: int) -> ChunkPlan:
    """Assign every row to the chunk(s) that need it."""
    id_parts = [tables[t][c] for t, c in CUSTOMER_TABLES.items() if t in tables]
    if "referrals" in tables:
        id_parts += [tables["referrals"]["referrer_id"], tables["referrals"]["referred_id"]]
    ids = pd.Index(pd.concat(id_parts, ignore_index=True).dropna().unique()).sort_values()
    n_chunks = max(1, math.ceil(len(ids) / max(chunk_customers, 1)))
    bucket_of = pd.Series(customer_buckets(ids.to_numpy(), n_chunks), index=ids)
    referrer_bucket = pd.Series(dtype="int64")
    if "referrals" in tables:
        r = tables["referrals"]
        referrer_bucket = pd.Series(
            bucket_of.reindex(r["referrer_id"]).to_numpy(), index=r["referred_id"].to_numpy()
        )
        referrer_bucket = referrer_bucket[~referrer_bucket.index.duplicated(keep="first")]

    rows: dict[str, list[np.ndarray]] = {}
    for name, col in CUSTOMER_TABLES.items():
        if name not in tables:
            continue
        cust = tables[name][col]
        own = bucket_of.reindex(cust).to_numpy()
        parts = _split(own.astype(np.int64), n_chunks)
        if len(referrer_bucket):
            extra = referrer_bucket.reindex(cust).to_numpy()
            has = ~np.isnan(extra) & (extra != own)
            extra_rows = np.flatnonzero(has)
            extra_parts = _split(extra[has].astype(np.int64), n_chunks)
            parts = [np.union1d(p, extra_rows[e]) for p, e in zip(parts, extra_parts, strict=True)]
        rows[name] = parts
    if "referrals" in tables:
        r = tables["referrals"]
        b1 = bucket_of.reindex(r["referrer_id"]).to_numpy().astype(np.int64)
        b2 = bucket_of.reindex(r["referred_id"]).to_numpy().astype(np.int64)
        p1, p2 = _split(b1, n_chunks), _split(b2, n_chunks)
        rows["referrals"] = [np.union1d(a, b) for a, b in zip(p1, p2, strict=True)]
    customers = [ids[bucket_of.to_numpy() == k].to_numpy() for k in range(n_chunks)]
    return ChunkPlan(n_chunks, rows, customers)


@dataclass
class DriftAccumulator:
    """Sums per-chunk bin counts so the PSI over all customers equals the PSI of one pass."""

    reference: dict[str, Any]
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    n: dict[str, int] = field(default_factory=dict)

    def add(self, frame: pd.DataFrame, group: str) -> None:
        for col, ref in self.reference.get(group, {}).items():
            if col not in frame.columns:
                continue
            values = frame[col]
            if ref["kind"] == "numeric":
                values = values.to_numpy(dtype=np.float64, na_value=np.nan)
            c = reference_proportions(ref, values) * len(frame)
            key = f"{group}:{col}"
            self.counts[key] = self.counts.get(key, 0) + c
            self.n[key] = self.n.get(key, 0) + len(frame)

    def report(self, threshold: float) -> dict[str, Any]:
        psi: dict[str, float] = {}
        for key, counts in self.counts.items():
            group, col = key.split(":", 1)
            ref = self.reference[group][col]
            if ref["kind"] == "numeric":
                expected = np.append(np.asarray(ref["proportions"], dtype=float), ref["missing"])
            else:
                expected = np.concatenate(
                    [np.asarray(ref["proportions"], dtype=float), [0.0, ref["missing"]]]
                )
            actual = counts / max(self.n[key], 1)
            p, q = np.maximum(actual, 1e-4), np.maximum(expected, 1e-4)
            psi[key] = round(float(np.sum((p - q) * np.log(p / q))), 6)
        drifted = sorted(k for k, v in psi.items() if v > threshold)
        return {
            "threshold": threshold,
            "drifted_features": [k.split(":", 1)[1] for k in drifted if k.startswith("features:")],
            "drifted_predictions": [k.split(":", 1)[1] for k in drifted if k.startswith("predictions:")],
            "psi": dict(sorted(psi.items())),
        }


@dataclass
class ChunkResult:
    scores: pd.DataFrame  # index customer_id
    value_contrib: pd.DataFrame
    features: pd.DataFrame
    spot_checked_rows: int
    #: feature -> category value unseen in training -> rows (scored as missing)
    unseen_categories: dict[str, dict[str, int]] = field(default_factory=dict)
    ignored_columns: list[str] = field(default_factory=list)


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
    check_rows: int | None = None,
    extras: pd.DataFrame | None = None,
) -> ChunkResult:
    """Predictions, exact contributions and top reasons for a feature table (index customer_id).

    `extras` (from `model_extras`) adds model-only inputs such as BTYD outputs, aligned by customer_id.
    """
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
    currency = cfg.data.currency
    n_check = cfg.explain.check_rows if check_rows is None else check_rows
    preds = bundle.predict(features)
    Xt = bundle.contract_.apply(features)
    boosters = bundle.explainable_boosters()
    parts = [preds]
    value_contrib = pd.DataFrame(index=features.index)
    if "value" in boosters:
        value_contrib = explain_booster(boosters["value"], Xt, n_check)
        parts.append(top_reasons(value_contrib, features, registry, cfg.explain.n_reasons, "value", currency))
    churn_logodds = explain_booster(boosters["churn"], Xt, n_check)
    base_raw = 1.0 / (1.0 + np.exp(-churn_logodds["_base"].to_numpy()))
    base_prob = bundle.churn_model_.calibrate(base_raw)
    churn_prob = churn_probability_contributions(churn_logodds, preds[f"pred_churn_prob_{h}d"], base_prob)
    parts.append(top_reasons(churn_prob, features, registry, cfg.explain.n_reasons, "churn", currency))
    carried = [c for c in CARRIED_FEATURES if c in features.columns]
    parts.append(features[carried])
    scores = pd.concat(parts, axis=1)
    return ChunkResult(scores, value_contrib, features, min(n_check, len(features)), unseen, ignored)


def finish_scores(
    compact: pd.DataFrame | list[pd.DataFrame],
    tables: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    model_version: str,
    bundle: CustomerValueModel,
    cfg: AppConfig,
    status: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Whole-base steps on the compact frame: tiers, ratings, flags; ids, as-of, version, manager; column order.

    Every customer known in any table gets a row with `status` and `status_reason` (`features.population`;
    computed here when not given). Only `scored` rows keep predictions, reasons, tiers, ratings and flags; the
    tier and rating cut points rank the scored rows only.

    Given the list of per-chunk frames, the list is emptied as they are combined, so at most two copies of the
    scores are alive at once (a million customers' reason sentences are hundreds of megabytes).
    """
    if isinstance(compact, list):
        parts = compact
        order = np.argsort(
            np.concatenate([p.index.to_numpy(dtype=object) for p in parts]).astype(str), kind="stable"
        )
        combined = pd.concat(parts)
        parts.clear()
        out = combined.take(order)
        del combined
    else:
        out = compact.sort_index()
    if status is None:
        status = customer_status(tables, as_of, cfg.labels)
    status = status.set_index("customer_id")
    out.index = out.index.astype("str")
    if not out.index.equals(status.index):
        out = out.reindex(status.index)  # customers with no feature row (first seen after as-of) included
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
        tiers = assign_tiers(out[scored], cfg.tiers, bundle.horizon_days)
        for col in tiers.columns:  # added column by column: a join would copy every score column once more
            values = tiers[col].reindex(out.index)
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
    manager = pd.Series(pd.NA, index=out.index, dtype="str")
    cust = tables.get("customers")
    if cust is not None and "account_manager_id" in cust.columns:
        manager = cust.set_index("customer_id")["account_manager_id"].reindex(out.index).astype("str")
    out["account_manager_id"] = manager
    out.index.name = "customer_id"
    out = out.reset_index()
    out.attrs["skipped_rules"] = skipped
    return out


def write_scores_parquet(scores: pd.DataFrame, path: Path, rows_per_group: int = 100_000) -> None:
    """Parquet in row groups, converted to Arrow a slice at a time (a whole-frame conversion doubles the peak)."""
    writer: pq.ParquetWriter | None = None
    # One schema for every slice, taken from a sample of the whole frame, so a slice whose column happens to
    # be all missing cannot change a type.
    schema = pa.Schema.from_pandas(scores.head(1000), preserve_index=False)
    try:
        for start in range(0, max(len(scores), 1), rows_per_group):
            part = scores.iloc[start : start + rows_per_group]
            table = pa.Table.from_pandas(part, schema=schema, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(path, schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


def iterate_chunks(
    tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, cfg: AppConfig, chunk_customers: int
) -> Iterator[tuple[int, int, pd.DataFrame]]:
    """Yield (chunk number, chunk count, feature table) for every non-empty chunk, in chunk order."""
    plan = plan_chunks(tables, chunk_customers)
    totals = company_revenue(tables, as_of, cfg.features)
    for k in range(plan.n_chunks):
        own = plan.customers[k]
        if len(own) == 0:
            continue
        feats = build_feature_table(plan.tables(tables, k), as_of, cfg.features, company_revenue=totals)
        feats = feats[feats.index.isin(own)]
        yield k, plan.n_chunks, feats


def eligible(
    features: pd.DataFrame, tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, cfg: AppConfig
) -> np.ndarray:
    """Which rows of a feature table have status `scored` (the one population rule, `features.population`).

    Only these are predicted, tiered and explained; drift compares them with the training distribution, which
    holds only such customers.
    """
    status = customer_status(tables, as_of, cfg.labels).set_index("customer_id")["status"]
    return (status.reindex(features.index.astype("str")) == SCORED).to_numpy(dtype=bool)


@dataclass
class ScoreRun:
    scores: pd.DataFrame
    manifest: dict[str, Any]
    contributions_path: Path | None


def score_pandas(
    tables: Mapping[str, pd.DataFrame],
    as_of: pd.Timestamp,
    bundle: CustomerValueModel,
    model_version: str,
    cfg: AppConfig,
    chunk_customers: int,
    contrib_path: Path | None = None,
    progress: Any = None,
    run_id: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Score every customer known before as-of. Writes value contributions to `contrib_path` chunk by chunk
    (with a `run_id` column after customer_id when `run_id` is given)."""
    drift = DriftAccumulator(bundle.drift_reference_)
    compact_parts: list[pd.DataFrame] = []
    writer: pq.ParquetWriter | None = None
    timings = {"features_s": 0.0, "score_explain_s": 0.0}
    checked = 0
    unseen: dict[str, dict[str, int]] = {}
    ignored: set[str] = set()
    extras, notes = model_extras(tables, as_of, bundle)
    t0 = time.perf_counter()
    status = customer_status(tables, as_of, cfg.labels)
    is_scored = status.set_index("customer_id")["status"] == SCORED
    timings["status_s"] = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        for k, n_chunks, feats in iterate_chunks(tables, as_of, cfg, chunk_customers):
            timings["features_s"] += time.perf_counter() - t0
            t1 = time.perf_counter()
            mask = is_scored.reindex(feats.index.astype("str"), fill_value=False).to_numpy(dtype=bool)
            carried = [c for c in CARRIED_FEATURES if c in feats.columns]
            if not mask.all():  # not scored: only the carried feature values, no prediction
                compact_parts.append(feats.loc[~mask, carried])
            feats = feats[mask]
            if not len(feats):
                t0 = time.perf_counter()
                continue
            res = score_features(feats, bundle, cfg, extras=extras)
            timings["score_explain_s"] += time.perf_counter() - t1
            checked += res.spot_checked_rows
            merge_counts(unseen, res.unseen_categories)
            ignored.update(res.ignored_columns)
            drift.add(res.features, "features")
            drift.add(res.scores, "predictions")
            compact_parts.append(res.scores)
            if contrib_path is not None and len(res.value_contrib.columns):
                frame = res.value_contrib.rename_axis("customer_id").reset_index()
                if run_id is not None:
                    frame.insert(1, "run_id", run_id)
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(contrib_path, table.schema)
                writer.write_table(table)
            if progress is not None:
                progress(k + 1, n_chunks, len(feats))
            t0 = time.perf_counter()
    finally:
        if writer is not None:
            writer.close()
    if status.empty:
        raise StructuralError(f"no customer is known in the data as of {as_of.date()}: nothing to score")
    t0 = time.perf_counter()
    scores = finish_scores(compact_parts, tables, as_of, model_version, bundle, cfg, status)
    timings["tiers_s"] = time.perf_counter() - t0
    info = {
        "drift": drift.report(cfg.scoring.psi_threshold),
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "explanations_spot_checked_rows": checked,
        "notes": notes,
        "unseen_categories": {c: dict(sorted(v.items())) for c, v in sorted(unseen.items())},
        "ignored_columns": sorted(ignored),
    }
    return scores, info


def resolve_settings(
    bundle: CustomerValueModel, cfg: AppConfig, mapping_sha256: str | None, strict: bool
) -> tuple[AppConfig, list[str], list[str]]:
    """The configuration a scoring run builds features with: the model's own feature and label settings.

    Returns (effective config, differences "key: model X, config Y", notes). Settings applied after prediction
    (tiers, flags, report text, explain) stay the run's policy. With `strict`, any difference refuses the run.
    A model saved before models carried their settings falls back to the run's configuration, with a note.
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
    for section in ("features", "labels"):
        for key in sorted(set(model_side[section]) | set(run_side[section])):
            a, b = model_side[section].get(key), run_side[section].get(key)
            if a != b:
                diffs.append(f"{section}.{key}: model {a}, config {b}")
    if model_side["mapping_digest"] != run_side["mapping_digest"]:
        short = {
            k: (v[:12] if v else "none")
            for k, v in (("m", model_side["mapping_digest"]), ("r", mapping_sha256))
        }
        diffs.append(f"mapping (sha256): model {short['m']}, run {short['r']}")
    if diffs and strict:
        raise StructuralError(
            "--strict: the run's settings differ from the model's:\n  - " + "\n  - ".join(diffs)
        )
    effective = cfg.model_copy(update={"features": bundle.feature_config, "labels": bundle.label_config})
    return effective, diffs, []


def run_policy(cfg: AppConfig) -> dict[str, Any]:
    """Settings applied after prediction (the run's policy, recorded in the manifest)."""
    return {
        "tiers": cfg.tiers.model_dump(mode="json"),
        "explain": cfg.explain.model_dump(mode="json"),
        "report": cfg.report.model_dump(mode="json"),
    }


def run_score(
    data: Path,
    as_of_text: str,
    out: Path,
    model_uri: str | None,
    engine: str,
    chunk_customers: int | None,
    mapping: Path | None,
    config: Path | None,
    console: Any,
    spark_master: str | None = None,
    strict: bool = False,
    allow_stale: bool = False,
    tracking_uri: str | None = None,
) -> ScoreRun:
    """The scoring job: load the registered model, validate the data, score in chunks, publish one output set."""
    import shutil

    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pipelines.io import check_writable, data_fingerprint, write_frame, write_json
    from pipelines.jobs import load_and_report, parse_date
    from pipelines.outputs import SCORES_SCHEMA, output_paths, publish, run_id_for, staging_dir
    from pipelines.tracking import configure_tracking, load_bundle
    from pipelines.train import check_after_first_order, last_order, mapping_digest, warn_later_events

    cfg = load_config(config)
    if engine not in ("pandas", "spark"):
        raise StructuralError(f"--engine must be pandas or spark, not {engine!r}")
    out = Path(out)
    if out.suffix not in (".parquet", ".csv") and engine == "pandas":
        raise StructuralError(f"--out must end in .parquet or .csv, not {out.name!r}")
    as_of = parse_date(as_of_text)
    paths = output_paths(out)
    for key, path in paths.items():  # before the model or the data are loaded
        check_writable(path, f"{key} file")
    t_start = time.perf_counter()
    uri_tracking = configure_tracking(Path(cfg.mlflow.tracking_dir), tracking_uri)
    uri = model_uri or f"models:/{cfg.mlflow.registered_model}@champion"
    model = load_bundle(uri)
    bundle: CustomerValueModel = model.bundle
    version = model.version or uri
    run_cfg = cfg
    cfg, diffs, setting_notes = resolve_settings(bundle, run_cfg, mapping_digest(mapping), strict)
    for note in setting_notes:
        console.print(f"[bold yellow]warning:[/] {escape(note)}")
    if diffs:
        console.print(
            "[bold yellow]warning:[/] the run's configuration differs from the model's; the model's settings "
            "are used (--strict refuses instead):\n  " + "\n  ".join(escape(d) for d in diffs)
        )
    loaded = load_and_report(Path(data), mapping, cfg, console)
    tables = loaded.tables
    check_after_first_order(tables, as_of, "score")
    last = last_order(tables)
    stale_days = (as_of - last) / pd.Timedelta(days=1)
    stale = None
    lapse = cfg.labels.max_lapse_days
    if lapse is not None and stale_days > lapse:
        stale = (
            f"--as-of {as_of.date()} is {stale_days:.0f} days after the last order ({last.date()}), more than "
            f"labels.max_lapse_days ({lapse}): the data looks stale"
        )
        if not allow_stale:
            raise StructuralError(f"{stale}. Export fresh data, or pass --allow-stale to score it anyway.")
        console.print(f"[bold yellow]warning:[/] {escape(stale)} (scored anyway: --allow-stale)")
    later = warn_later_events(tables, as_of, console)
    chunk = chunk_customers or cfg.scoring.chunk_customers
    fingerprint = data_fingerprint(tables)
    run_id = run_id_for(
        {
            "as_of": as_of.isoformat(),
            "model_uri": uri,
            "model_version": version,
            "model_run_id": model.run_id,
            "data": fingerprint,
            "config": run_cfg.digest(),
            "features": cfg.features.model_dump(mode="json"),
            "labels": cfg.labels.model_dump(mode="json"),
        }
    )
    staging = staging_dir(out, run_id)
    staged = {k: staging / p.name for k, p in paths.items()}
    try:
        t0 = time.perf_counter()
        if engine == "spark":
            from pipelines.spark import score_spark

            scores, info = score_spark(
                tables,
                as_of,
                bundle,
                version,
                cfg,
                chunk,
                staged["contributions"],
                spark_master,
                run_id=run_id,
            )
        else:
            with Progress(
                TextColumn("scoring"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("chunks"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            ) as progress:
                task = progress.add_task("chunks", total=None, rate="")
                done = {"customers": 0}

                def tick(k: int, n: int, rows: int) -> None:
                    done["customers"] += rows
                    rate = done["customers"] / max(time.perf_counter() - t0, 1e-9)
                    progress.update(task, total=n, completed=k, rate=f"{rate:,.0f} customers/s")

                scores, info = score_pandas(
                    tables, as_of, bundle, version, cfg, chunk, staged["contributions"], tick, run_id=run_id
                )
        seconds = time.perf_counter() - t0
        scores.insert(scores.columns.get_loc("model_version") + 1, "run_id", run_id)
        skipped = list(scores.attrs.get("skipped_rules", ()))
        manifest = {
            "run_id": run_id,
            "as_of": as_of.date().isoformat(),
            "engine": engine,
            "model_uri": uri,
            "model_version": version,
            "model_run_id": model.run_id,
            "tracking_uri": uri_tracking,
            "horizon_days": bundle.horizon_days,
            "customers_scored": int((scores["status"] == SCORED).sum()),
            "customers_total": len(scores),
            "statuses": {str(k): int(v) for k, v in scores["status"].value_counts().sort_index().items()},
            "tiers": {str(k): int(v) for k, v in scores["tier"].value_counts().sort_index().items()},
            "rows": {
                name: {"in": r.rows_in, "accepted": r.accepted, "rejected": r.rejected}
                for name, r in loaded.result.report.items()
            },
            "data_fingerprint": fingerprint,
            "config_digest": run_cfg.digest(),
            "model_settings": bundle.contract_settings(),
            "settings_used": {
                "features": cfg.features.model_dump(mode="json"),
                "labels": cfg.labels.model_dump(mode="json"),
            },
            "settings_differences": diffs,
            "settings_notes": setting_notes,
            "run_policy": run_policy(run_cfg),
            "skipped_rules": skipped,
            "stale_data": stale,
            "events_after_as_of": later,
            "chunk_customers": chunk,
            "seconds": round(seconds, 3),
            "total_seconds": round(time.perf_counter() - t_start, 3),
            **info,
        }
        SCORES_SCHEMA.check_written(scores)
        if engine == "spark" and out.suffix not in (".parquet", ".csv"):
            from pipelines.spark import write_spark_output

            write_spark_output(scores, staged["scores"])  # a Parquet directory
        elif out.suffix == ".csv":
            write_frame(scores, staged["scores"])
        else:
            write_scores_parquet(scores, staged["scores"])
        if not staged[
            "contributions"
        ].exists():  # nobody scored, or a model without an additive value booster
            empty = pd.DataFrame({"customer_id": pd.Series(dtype="str"), "run_id": pd.Series(dtype="str")})
            empty.to_parquet(staged["contributions"], index=False)
        write_json(manifest, staged["manifest"])
        publish(staged, paths)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if manifest["customers_scored"] == 0:
        console.print(
            "[bold yellow]warning:[/] no customer could be scored: "
            + ", ".join(f"{k}: {v:,}" for k, v in manifest["statuses"].items())
        )
    unseen = manifest.get("unseen_categories") or {}
    if unseen:
        console.print(
            "[bold yellow]warning:[/] categories unseen in training, scored as missing: "
            + "; ".join(
                escape(f"{col}: " + ", ".join(f"{v!r} ({n:,} customers)" for v, n in counts.items()))
                for col, counts in unseen.items()
            )
        )
    if skipped:
        console.print(
            "[yellow]note:[/] rules not applied because their input columns are absent: "
            + escape(", ".join(skipped))
        )
    drifted = manifest["drift"]["drifted_features"] + manifest["drift"]["drifted_predictions"]
    if drifted:
        console.print(
            f"[bold yellow]warning:[/] drift above PSI {cfg.scoring.psi_threshold} in: {', '.join(drifted)} "
            f"(see {paths['manifest'].name})"
        )
    console.print(
        f"scored {len(scores):,} customers with model v{version} in {seconds:.1f} s -> {out}; "
        + ", ".join(f"{k}: {v:,}" for k, v in manifest["tiers"].items())
    )
    return ScoreRun(scores, manifest, paths["contributions"])
