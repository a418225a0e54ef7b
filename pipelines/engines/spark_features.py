"""The features stage of the Spark engine (`spark_engine`): what the driver plans before any Spark job and what
each customer bucket runs on the executors (the `groupBy(bucket).applyInPandas` body), then how a scores-stage batch
turns back into the pandas engine's feature table.

- `planned_features` (driver): the contract check on the features of the tables' empty slices, the features the
  buckets build outside the contract (ignored; those the tier and flag rules read carried into the scores).
- `build_bucket_features` (executors): one bucket's features, with the model-only inputs of `model_extras` (BTYD
  outputs, fitted on the driver on the whole base as the pandas engine fits them) joined per customer.
- `restore_features`: a batch of the stage's rows back as a pandas feature table.

Pure functions: everything they need arrives as arguments (the bundle and the extras as broadcast values).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd

from features import build_feature_table
from features.as_trained import AS_DATA, AsTrained
from models.bundle import CustomerValueModel
from pipelines.config import AppConfig
from pipelines.engines.chunks import customer_buckets
from pipelines.engines.scoring import ContractMismatch, eligible
from pipelines.engines.spark_parts import write_profile_part
from pipelines.engines.spark_session import arrow_safe as _arrow_safe

#: Features-stage column: True on each bucket's first row. One job brings these rows to the driver: whether anyone
#: has features, and the sample the scores' schema is read from.
HEAD = "__head"
#: The features stage's columns that are not features.
STAGE_COLUMNS = ("customer_id", "bucket", "eligible", HEAD)


def feature_schema(bundle: CustomerValueModel, carried: Mapping[str, str] | None = None) -> str:
    """DDL schema of the features stage: customer_id, bucket, eligible, `HEAD`, then the model's features in
    order, then `carried` (name -> `double` or `string`: `planned_features`' features outside the contract)."""
    cols = ["`customer_id` string", "`bucket` int", "`eligible` boolean", f"`{HEAD}` boolean"]
    for name in bundle.contract_.names:
        kind = "string" if bundle.contract_.dtypes[name] == "category" else "double"
        cols.append(f"`{name}` {kind}")
    cols += [f"`{name}` {kind}" for name, kind in (carried or {}).items()]
    return ", ".join(cols)


def bucket_profile_inputs(
    tables: Mapping[str, pd.DataFrame],
    feats: pd.DataFrame,
    attributes: tuple[str, ...],
    feature_settings: Any,
) -> pd.DataFrame:
    """One bucket's profile inputs (`models.profile.profile_inputs` of its own customers' features), customer_id
    as a column.

    `customer_inputs` of the bucket's customers table equals the whole table's for the bucket's customers: every
    row of a customer is in its bucket, in source order, so the first row per customer is the same one.
    """
    from features import feature_registry
    from models.profile import customer_inputs, profile_inputs

    part = customer_inputs(tables.get("customers"), attributes)
    return profile_inputs(feats, part, feature_registry(feature_settings)).reset_index()


def check_feature_columns(feats: pd.DataFrame, bundle: CustomerValueModel) -> None:
    """ContractMismatch (the pandas engine's message) when a feature of the contract was not built. Built
    features the contract does not know are ignored, as by the pandas engine (`planned_features`)."""
    missing = [p for p in bundle.contract_.problems(feats) if p.startswith("missing feature")]
    if missing:
        raise ContractMismatch(
            "the features built from this data do not match the model's feature contract:\n  - "
            + "\n  - ".join(missing)
        )


def with_extras(feats: pd.DataFrame, extras: pd.DataFrame | None) -> pd.DataFrame:
    """The feature table with the model-only inputs of its customers joined (`score_features`' join)."""
    return feats if extras is None else feats.join(extras.reindex(feats.index))


def planned_features(
    tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, cfg: AppConfig, totals: Mapping[int, float],
    bundle: CustomerValueModel, extras: pd.DataFrame | None = None, as_trained: AsTrained | None = None,
) -> tuple[dict[str, str], list[str]]:  # fmt: skip
    """On the driver before any Spark job: `check_feature_columns`, and the features the buckets build that the
    contract does not know (a table added after training: the invoices' `payment_*`).

    The feature columns come from the tables given and the settings, not from their rows, so the features of the
    tables' empty slices (no data, a few milliseconds) show a mismatch (a table the model needs is absent) before
    the executors build anything. Returns (carried: of the features outside the contract, those the run carries
    into its scores (in an as-trained run also the contract's numeric features' `AS_DATA` values, below), `AppConfig.carried_features`: the tier and flag rules read them, as on the pandas engine;
    name -> Spark type; ignored: every feature outside the contract, the pandas engine's `ignored_columns`).
    `extras` (`scoring.model_extras`: BTYD outputs) are joined as the buckets join them. With `as_trained` not
    empty (`features.as_trained`), the model's features are those of the tables as its training data had them and
    every carried feature of all the data is carried as `AS_DATA` + name, as the pandas engine's chunks carry it,
    and so is every numeric feature of the contract (the values a reason's sentence states, `stated_values`; was:
    the model's guessed "net profit so far", round 19)."""
    empty = {name: table.iloc[:0] for name, table in tables.items()}
    data = with_extras(build_feature_table(empty, as_of, cfg.features, company_revenue=totals), extras)
    built = data
    if as_trained:
        model = build_feature_table(as_trained.apply(empty), as_of, cfg.features, company_revenue=totals)
        built = with_extras(model, extras)
    check_feature_columns(built, bundle)
    _, _, ignored = bundle.contract_.grade(built)
    carried = {}
    for name in cfg.carried_features():
        if name in ignored or (as_trained and name in data.columns):
            numeric = pd.api.types.is_numeric_dtype(data[name]) and not pd.api.types.is_bool_dtype(data[name])
            carried[AS_DATA + name if as_trained else name] = "double" if numeric else "string"
    # the values a reason's sentence states (`features.as_trained.stated_values`): all the data's
    if as_trained:
        own = () if extras is None else extras.columns  # model inputs, not features: one value in both builds
        for name in bundle.contract_.names:
            if name in data.columns and name not in own and bundle.contract_.dtypes[name] != "category":
                carried.setdefault(AS_DATA + name, "double")
    return carried, ignored


def build_bucket_features(
    tables: Mapping[str, pd.DataFrame],
    k: int,
    n_chunks: int,
    as_of: pd.Timestamp,
    cfg: AppConfig,
    totals: Mapping[int, float],
    bundle: CustomerValueModel,
    profile_attributes: tuple[str, ...] | None = None,
    profile_parts: str | None = None,
    carried: Mapping[str, str] | None = None,
    extras: pd.DataFrame | None = None,
    as_trained: AsTrained | None = None,
) -> pd.DataFrame:
    """Features of one bucket's own customers (the applyInPandas body).

    in:  bucket `k`'s validated tables (`spark_buckets.bucket_tables`: its customers' rows and their referred
         customers', every table).
    out: one row per customer of the bucket known before `as_of`: customer_id (str), bucket (int), eligible
         (bool, `pipelines.engines.scoring.eligible`), `HEAD` (True on the first row), then the contract's
         features (float64; categorical as str), then `carried` (`planned_features`: features outside the
         contract that the run carries into its scores, and in an as-trained run the `AS_DATA` values of the
         contract's numeric features; `double` as float64, `string` as str); the model
         inputs of `extras` (`scoring.model_extras`: BTYD outputs fitted on the whole base by the driver) joined
         per customer, as `score_features` joins them on the pandas engine;
         with `profile_attributes` (the run's `profile.attributes`) and `profile_parts` (the run's directory of
         profile parts), the bucket's profile inputs (`bucket_profile_inputs`) are written there
         (`spark_parts.write_profile_part`), not returned: they never pass through the driver's collect.
    With `as_trained` not empty the contract's features are built from the tables as the model's training data had
    them, the `AS_DATA` carried ones from all the data (`features.as_trained`, as `chunks.iterate_chunks`).
    Raises ContractMismatch (the pandas engine's message) when the built columns are not the contract's.
    """
    feats = build_feature_table(tables, as_of, cfg.features, company_revenue=totals)
    feats = feats[customer_buckets(feats.index.to_numpy(), n_chunks) == k].sort_index(kind="stable")
    own = feats  # the model's features
    if as_trained:  # a second build, only when the data has inputs the model was trained without
        own = build_feature_table(as_trained.apply(tables), as_of, cfg.features, company_revenue=totals)
        own = own.reindex(feats.index)
    model_feats = with_extras(own, extras)
    check_feature_columns(model_feats, bundle)
    contract = bundle.contract_
    out = {
        "customer_id": feats.index.astype("str"),
        "bucket": np.full(len(feats), k, dtype=np.int32),
        "eligible": eligible(feats, tables, as_of, cfg),
        HEAD: np.arange(len(feats)) == 0,
    }
    for name in contract.names:
        col = model_feats[name]
        if contract.dtypes[name] == "category":
            out[name] = col.astype("str").where(col.notna())
        else:
            out[name] = col.to_numpy(dtype=np.float64, na_value=np.nan)
    for name, kind in (carried or {}).items():
        col = feats[name.removeprefix(AS_DATA)] if name.startswith(AS_DATA) else model_feats[name]
        out[name] = (
            col.to_numpy(dtype=np.float64, na_value=np.nan)
            if kind == "double"
            else col.astype("str").where(col.notna())
        )
    if profile_attributes is not None and profile_parts is not None and len(feats):
        inputs = bucket_profile_inputs(tables, feats, profile_attributes, cfg.features)  # all the data's
        write_profile_part(inputs, profile_parts, k)
    return _arrow_safe(pd.DataFrame(out))


def restore_features(batch: pd.DataFrame, bundle: CustomerValueModel) -> pd.DataFrame:
    """A features-stage batch back as the pandas engine's feature table (index customer_id, categories; the
    carried features outside the contract as they came)."""
    contract = bundle.contract_
    data: dict[str, Any] = {}
    for name in contract.names:
        col = batch[name]
        if contract.dtypes[name] == "category":
            values = col.astype("str").where(col.notna())
            data[name] = pd.Categorical(values, categories=sorted(values.dropna().unique()))
        else:
            data[name] = col.to_numpy(dtype=np.float64, na_value=np.nan)
    for name in batch.columns:
        if name not in data and name not in STAGE_COLUMNS:
            data[name] = batch[name].to_numpy()
    index = pd.Index(batch["customer_id"].astype("str"), name="customer_id")
    return pd.DataFrame(data, index=index)


def bridge_plan(
    tables: Mapping[str, pd.DataFrame], as_of: pd.Timestamp, cfg: AppConfig, totals: Mapping[int, float],
    old: CustomerValueModel, version: str, old_extras: pd.DataFrame | None, present: Collection[str],
    as_trained: AsTrained | None = None, as_data: bool = False,
) -> tuple[dict[str, str], str | None]:  # fmt: skip
    """On the driver: what the features stage must carry for the history's previous model (issue 15's bridge,
    the pandas engine's `pandas_engine._Bridge`) to explain this run's data: (its features the stage does not
    hold yet, `present` being those it holds, name -> Spark type; None), or ({}, the pandas engine's note) when it
    cannot read the features built for this run (judged on the tables' empty slices, as `planned_features`). Its
    own model inputs (`old_extras`: BTYD outputs) are joined in the scores stage, as `score_features` joins them.
    It is judged on the build it reads (`features.as_trained.bridge_view`, `BridgeModel.as_data`): that of all the
    data (`AS_DATA` columns, when this run's model's features are built as trained: `as_trained`) or this run's
    model's (`as_trained.apply`), so every name it asks for is one the buckets build (was: judged on all the data
    and read from the model's build: a KeyError on the executors for a feature the as-trained build left out)."""
    empty = {name: table.iloc[:0] for name, table in tables.items()}
    data = as_data or not as_trained
    built = build_feature_table(
        empty if data else as_trained.apply(empty), as_of, cfg.features, company_revenue=totals
    )
    problems, _, _ = old.grade_contract(with_extras(built, old_extras))
    if problems:
        return {}, (
            f"the previous run's model v{version} does not accept the features built for this run "
            f"({problems[-1].strip(' -')})"
        )
    prefix = AS_DATA if as_data and as_trained else ""  # `build_bucket_features` reads these of all the data
    more = {}
    for name in old.contract_.names:
        if name in built.columns and prefix + name not in present:
            more[prefix + name] = "string" if old.contract_.dtypes[name] == "category" else "double"
    return more, None
