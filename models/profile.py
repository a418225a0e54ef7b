"""The ideal-customer profile, as pure functions of one scoring run's tables.

Who the great customers are (`attribute_profile`), how they behave (`behaviour_separation`, and the SHAP tier
drivers from `models.tier_drivers.tier_drivers`), how many more like them exist (`lookalike_counts`); whether
winning each customer paid off is `models.payback` (`customer_payback`, `channel_payback`). No I/O, no clock:
the pipeline (`pipelines/profile.py`) reads the scores, the data and the feature table and writes what these
return.

"Great" is the best tier of `models.tiers` (the last of `TIER_NAMES`); this module never spells a tier name.

Table contracts
    scores:    one row per customer (`customer_id` unique), `status` (features.population statuses), `tier`
               (empty for customers who are not scored), `account_manager_id`, the value column
               `pred_expected_net_value_{h}d` (scored customers only).
    customers: the validated customers table; profile attributes are its text columns named in
               `ProfileConfig.attributes`, `acquisition_channel` and optional `acquisition_cost` (currency).
    features:  the feature table at the scores' cutoff (index `customer_id`), numeric behaviour columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from features.population import SCORED
from models.config_sections import ProfileConfig
from models.profile_math import align, auc_sorted, cramers_v, median_sorted, same_ids, wilson_interval
from models.tiers import TIER_NAMES

#: The value an attribute takes when the customers table has no value for a customer (counted, never dropped).
NOT_RECORDED = "(not recorded)"
#: Feature groups describing the customer rather than their behaviour (left out of the behaviour ranking).
_NOT_BEHAVIOUR_GROUPS = frozenset({"profile"})


#: Prefix of the customers-table columns in a profile-inputs frame (attributes, channel, recorded cost), so they
#: never collide with a feature name.
CUSTOMER_PREFIX = "customer:"


def customer_inputs(customers: pd.DataFrame | None, attributes: Sequence[str]) -> pd.DataFrame:
    """The customers-table part of the profile inputs, indexed by customer_id (text), computed once per run.

    out columns: `customer:<attribute>` for the profile attributes present in `customers` and
    `customer:acquisition_channel` (text, a missing value stays missing), `customer:acquisition_cost` (float, NaN
    when not recorded). Personal columns are never taken, whatever the configuration names.
    """
    from features.contract import PERSONAL_COLUMNS

    names = dict.fromkeys(a for a in (*attributes, "acquisition_channel") if a not in PERSONAL_COLUMNS)
    if customers is None:
        ids = pd.Index([], dtype="str", name="customer_id")
        return pd.DataFrame({CUSTOMER_PREFIX + "acquisition_cost": pd.Series(dtype="float64")}, index=ids)
    cust = customers.drop_duplicates("customer_id")
    ids = pd.Index(cust["customer_id"].astype("str"), name="customer_id")
    out: dict[str, Any] = {}
    for name in names:
        if name in cust.columns:
            values = cust[name].astype("object")
            text = values.where(values.isna(), values.astype("str")).to_numpy(dtype=object)
            out[CUSTOMER_PREFIX + name] = pd.array(text, dtype="str")
    cost = np.full(len(ids), np.nan)
    if "acquisition_cost" in cust.columns:
        cost = cust["acquisition_cost"].to_numpy(dtype=np.float64, na_value=np.nan)
    out[CUSTOMER_PREFIX + "acquisition_cost"] = cost
    return pd.DataFrame(out, index=ids)


def profile_inputs(
    features: pd.DataFrame, customer_part: pd.DataFrame, registry: Mapping[str, Any]
) -> pd.DataFrame:
    """The per-customer inputs of the profile and payback, one row per feature row: what `cvp score` writes to
    `<stem>.profile_inputs.parquet` chunk by chunk, so `cvp profile` needs neither the data nor the features again.

    in:  a feature table (index customer_id; a chunk or the whole base), `customer_inputs` of the run, the registry.
    out (index customer_id as text): the `customer:*` columns of `customer_inputs` (a customer missing from the
    customers table: missing values), then every numeric feature outside the `profile` group as float64 (the
    behaviour features and `profit_net_lifetime`, the realised profit of payback). No personal column, no
    prediction.
    """
    ids = pd.Index(features.index.astype("str"), name="customer_id")
    out = customer_part.reindex(ids)
    numeric = {}
    for name in features.columns:
        group = getattr(registry.get(name), "group", "")
        if group in _NOT_BEHAVIOUR_GROUPS or not pd.api.types.is_numeric_dtype(features[name].dtype):
            continue
        numeric[str(name)] = features[name].to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.concat([out, pd.DataFrame(numeric, index=ids)], axis=1)


def split_profile_inputs(inputs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(customers, features) of a `profile_inputs` frame: the customers part as the customers table's columns
    (with `customer_id`) for `attribute_values` and `acquisition_costs`, the features indexed by customer_id."""
    mine = [c for c in inputs.columns if str(c).startswith(CUSTOMER_PREFIX)]
    customers = inputs[mine].rename(columns=lambda c: c[len(CUSTOMER_PREFIX) :])
    customers = customers.rename_axis(None).assign(customer_id=inputs.index.astype("str").array)
    return customers.reset_index(drop=True), inputs.drop(columns=mine)


def best_tier() -> str:
    """The tier the profile describes (the best of `models.tiers.TIER_NAMES`)."""
    return TIER_NAMES[-1]


def is_great(scores: pd.DataFrame) -> pd.Series:
    """True for scored customers in the best tier, indexed by customer_id."""
    tier = scores["tier"].astype("str")
    scored = (scores["status"].astype("str") == SCORED).to_numpy()
    return pd.Series(scored & (tier == best_tier()).to_numpy(), index=pd.Index(scores["customer_id"]))


def attribute_profile(scores: pd.DataFrame, customers: pd.DataFrame, config: ProfileConfig) -> pd.DataFrame:
    """Who the great customers are: one row per (attribute, value) over the scored customers.

    out columns: attribute, value, customers, great, share_great, share_low, share_high (Wilson interval),
    lift (share_great / base share), lift_low, lift_high, supported (customers >= min_support),
    profile_value (supported and share_low above the base share), strength (Cramer's V of the attribute with
    being great, over supported values), rank (of the attribute by strength, 1 = strongest). Rows are ordered by
    attribute rank, then lift (highest first). A customer without a value counts under `NOT_RECORDED`.
    """
    scored = (scores["status"].astype("str") == SCORED).to_numpy()
    y = is_great(scores).to_numpy(dtype=bool)[scored]  # is_great is in the order of the scores
    base = float(y.mean()) if len(y) else np.nan
    ids = pd.Index(scores["customer_id"].astype("str"))
    attrs = attribute_values(customers, config.attributes, ids).iloc[scored]
    frames = []
    for attribute in attrs.columns:
        # One pass over integer codes per attribute (factorize + bincount), not a crosstab of Python objects.
        codes, uniques = pd.factorize(attrs[attribute], sort=True)
        n = np.bincount(codes, minlength=len(uniques))
        k = np.bincount(codes, weights=y, minlength=len(uniques)).round().astype(np.int64)
        low, high = wilson_interval(k, n, config.confidence)
        share = k / n
        supported = n >= config.min_support
        frame = pd.DataFrame(
            {
                "attribute": attribute,
                "value": pd.Index(uniques).astype("str"),
                "customers": n.astype(np.int64),
                "great": k.astype(np.int64),
                "share_great": share,
                "share_low": low,
                "share_high": high,
                "lift": share / base if base > 0 else np.nan,
                "lift_low": low / base if base > 0 else np.nan,
                "lift_high": high / base if base > 0 else np.nan,
                "supported": supported,
                "profile_value": supported & (low > base),
                "strength": cramers_v(np.column_stack([n - k, k])[supported]),
            }
        )
        frames.append(frame)
    columns = [
        "attribute", "value", "customers", "great", "share_great", "share_low", "share_high", "lift",
        "lift_low", "lift_high", "supported", "profile_value", "strength", "rank",
    ]  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)
    strength = out.groupby("attribute")["strength"].first().fillna(-1.0)
    order = sorted(strength.index, key=lambda a: (-strength[a], a))
    out["rank"] = out["attribute"].map({a: i + 1 for i, a in enumerate(order)}).astype(np.int64)
    out = out.assign(_lift=-out["lift"].fillna(-np.inf)).sort_values(
        ["rank", "_lift", "value"], kind="stable"
    )
    return out.drop(columns="_lift").reset_index(drop=True)[columns]


def attribute_values(
    customers: pd.DataFrame | None, attributes: Sequence[str], ids: pd.Index
) -> pd.DataFrame:
    """The profile attributes present in `customers`, one row per id in `ids` (missing -> `NOT_RECORDED`)."""
    if customers is None:
        return pd.DataFrame(index=ids)
    present = [a for a in attributes if a in customers.columns]
    if same_ids(customers["customer_id"], ids):  # already one row per id, in their order (`cvp profile`)
        out = customers[present].set_axis(ids)
    else:
        cust = customers.drop_duplicates("customer_id").set_index(
            customers["customer_id"].drop_duplicates().astype("str")
        )
        out = cust[present].reindex(ids)
    for a in present:  # text stays Arrow text (fill_null), anything else goes through object once
        col = out[a]
        if col.dtype == "str":
            out[a] = col.fillna(NOT_RECORDED)
        else:
            col = col.astype("object")
            out[a] = col.where(col.notna(), NOT_RECORDED).astype("str")
    return out


def behaviour_separation(
    features: pd.DataFrame, great: pd.Series, registry: Mapping[str, Any], top: int
) -> pd.DataFrame:
    """How great customers behave: the numeric behaviour features that separate them from the rest most.

    in:  the feature table (index customer_id) and `is_great` for the scored customers; features of the
         `profile` group (who they are, not how they behave) are left out.
    out: the `top` features by |auc - 0.5|, the strongest of each feature group first, columns feature, group, description (from the registry), auc
         (P(great value > rest value) over known values), median_great, median_rest, lift_top_quintile (share
         great among the customers in the feature's top fifth / base share), known_share, rank.
    """
    if same_ids(features.index, great.index):  # `cvp profile` hands them aligned: no id lookups
        y = great.to_numpy(dtype=bool)
        rows_of = None
    else:
        ids = great.index.intersection(features.index)
        y = great.reindex(ids).to_numpy(dtype=bool)
        rows_of = features.index.get_indexer(ids)  # one lookup of the ids for every feature
    base = float(y.mean()) if len(y) else np.nan
    rows = []
    names = [
        name
        for name in features.columns
        if getattr(registry.get(name), "group", "") not in _NOT_BEHAVIOUR_GROUPS
        and pd.api.types.is_numeric_dtype(features[name].dtype)
    ]
    for name in names:
        spec = registry.get(name)
        group = getattr(spec, "group", "")
        x = features[name].to_numpy(dtype=np.float64, na_value=np.nan)
        x = x if rows_of is None else x[rows_of]
        known = np.isfinite(x)
        if known.sum() < 2:
            continue
        xk, yk = x[known], y[known]
        great_sorted, rest_sorted = np.sort(xk[yk]), np.sort(xk[~yk])  # one sort per side serves all below
        auc = auc_sorted(great_sorted, rest_sorted)
        top_mask = xk >= np.quantile(xk, 0.8)
        lift = float(yk[top_mask].mean() / base) if base > 0 and top_mask.any() else np.nan
        rows.append(
            {
                "feature": name,
                "group": group,
                "description": getattr(spec, "description", name),
                "auc": auc,
                "median_great": median_sorted(great_sorted),
                "median_rest": median_sorted(rest_sorted),
                "lift_top_quintile": lift,
                "known_share": float(known.mean()),
            }
        )
    columns = ["feature", "group", "description", "auc", "median_great", "median_rest", "lift_top_quintile",
               "known_share", "rank"]  # fmt: skip
    if not rows:
        return pd.DataFrame(columns=columns)
    out = pd.DataFrame(rows)
    # The strongest feature of each group first, then the rest: great customers differ in profit by definition,
    # and the table should also say how they differ in tenure, referrals, service effort, payment and price.
    out = out.assign(_key=-(out["auc"] - 0.5).abs().fillna(-1.0))
    out = out.sort_values(["_key", "feature"], kind="stable")
    out["_later"] = out["group"].duplicated()
    out = out.sort_values(["_later", "_key", "feature"], kind="stable")
    out = out.head(top).drop(columns=["_key", "_later"]).reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out[columns]


def shap_drivers(
    contrib: pd.DataFrame, scores: pd.DataFrame, registry: Mapping[str, Any], top: int
) -> pd.DataFrame:
    """The SHAP tier drivers of the best tier (`models.tier_drivers.tier_drivers`, feature level), top `top` by
    |difference|: columns feature, group, description, tier_mean, base_mean, difference, rank."""
    from models.tier_drivers import tier_drivers

    scored = scores.loc[(scores["status"].astype("str") == SCORED).to_numpy()]
    # Ids as plain Python strings: a membership test of Arrow strings against a large id list builds one Arrow
    # scalar per id (seconds at 100k customers); an object index hashes them.
    scored_ids = pd.Index(scored["customer_id"].astype("str").to_numpy(dtype=object), dtype=object)
    contrib_ids = pd.Index(contrib.index.astype("str").to_numpy(dtype=object), dtype=object)
    rows = scored_ids.get_indexer(contrib_ids) if len(contrib) else np.zeros(0, dtype=np.int64)
    keep = rows >= 0
    columns = ["feature", "group", "description", "tier_mean", "base_mean", "difference", "rank"]
    if not keep.any():
        return pd.DataFrame(columns=columns)
    contrib = (contrib if keep.all() else contrib.loc[keep]).set_axis(
        contrib_ids[keep]
    )  # no copy when all kept
    # The tiers in the contributions' order (one lookup, above), and only the best tier as a category (the
    # others missing): tier_drivers computes the one table used here; its base means are over every row either way.
    text = scored["tier"].astype("str").to_numpy(dtype=object)[rows[keep]]
    best = np.where(text == best_tier(), best_tier(), None)
    tier = pd.Series(pd.Categorical(best, categories=[best_tier()], ordered=True), index=contrib.index)
    table = tier_drivers(contrib, tier, registry)[best_tier()]
    feats = table[table["level"] == "feature"].head(top)
    out = pd.DataFrame(
        {
            "feature": feats.index.astype("str"),
            "group": feats["group"].to_numpy(),
            "description": [getattr(registry.get(f), "description", f) for f in feats.index],
            "tier_mean": feats["tier_mean"].to_numpy(),
            "base_mean": feats["base_mean"].to_numpy(),
            "difference": feats["difference"].to_numpy(),
        }
    )
    out["rank"] = np.arange(1, len(out) + 1)
    return out[columns]


def profile_match(
    scores: pd.DataFrame, customers: pd.DataFrame | None, who: pd.DataFrame, config: ProfileConfig
) -> pd.DataFrame:
    """Every customer of the scores with how many of their attribute values are profile values.

    out: customer_id, account_manager_id, status, is_great, profile_matches (count of profile values held),
    matches_profile (profile_matches >= match_min_attributes), lookalike (matches the profile and not great).
    """
    ids = pd.Index(scores["customer_id"].astype("str"))
    attrs = attribute_values(customers, config.attributes, ids)
    profile_values = who.loc[who["profile_value"].astype(bool), ["attribute", "value"]]
    matches = np.zeros(len(ids), dtype=np.int64)
    for attribute, values in profile_values.groupby("attribute")["value"]:
        if attribute in attrs.columns:
            matches += attrs[attribute].isin(set(values)).to_numpy(dtype=np.int64)
    great = is_great(scores).to_numpy(dtype=bool)
    match = matches >= config.match_min_attributes
    return pd.DataFrame(
        {
            "customer_id": ids.array,
            "account_manager_id": scores["account_manager_id"].astype("str").array,
            "status": scores["status"].astype("str").array,
            "is_great": great,
            "profile_matches": matches,
            "matches_profile": match,
            "lookalike": match & ~great,
        }
    )


def lookalike_counts(match: pd.DataFrame) -> pd.DataFrame:
    """How many non-great customers match the profile, per account manager and status.

    out: account_manager_id, status, customers (non-great), lookalikes; one row per (manager, status) with
    customers, sorted by manager then status; the empty manager id means no account manager.
    """
    rest = match.loc[~match["is_great"].to_numpy(dtype=bool)]
    out = (
        rest.groupby(["account_manager_id", "status"], sort=True)
        .agg(customers=("customer_id", "size"), lookalikes=("lookalike", "sum"))
        .reset_index()
    )
    return out.astype({"customers": np.int64, "lookalikes": np.int64})


__all__ = [
    "CUSTOMER_PREFIX",
    "NOT_RECORDED",
    "customer_inputs",
    "ProfileConfig",
    "attribute_profile",
    "behaviour_separation",
    "best_tier",
    "is_great",
    "lookalike_counts",
    "profile_inputs",
    "profile_match",
    "shap_drivers",
    "split_profile_inputs",
    "wilson_interval",
    "align",
    "same_ids",
]
