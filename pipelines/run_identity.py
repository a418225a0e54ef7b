"""Which settings a scoring run's output set depends on: the part of the configuration its run id digests.

The run id (`pipelines.outputs.run_id_for`) promises "same inputs, config, model and seed -> same id": a batch job
compares it with the last run's to tell whether anything changed. It digests the settings below and only those, so
a change of a setting no output reads (a report's wording, MLflow's experiment, the demo company, a training-only
knob, the chunk size) keeps the id, and any change that can move a score, a contribution, a reject, a status, a
profile input or a verdict of the manifest gives a new one. Both engines take the id from here.

Every setting of `configs/default.yaml` is in exactly one of the two declarations (tested): a section added to the
configuration must be placed in one of them, with its reason when it stays out.

`output_digest` is also the scoring manifest's `config_digest`: one rule for what "the configuration changed"
means to a batch job (was: the whole configuration's digest beside the id's, a report's wording changing one and
not the other). The feature table's manifest (`cvp features`) names by `config_digest` the same thing for its
output: the digest of `FEATURE_TABLE_SETTINGS` (was: the whole configuration's, a report's wording or the demo's
seed changing it). A training run's `config_digest` param (and a backtest's) is `training_digest`: the whole
configuration but `PLACES`, where the run is logged: a training reads `models` too, and a place is not a setting
(was: `AppConfig.digest`, the same training in another store got another digest).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from features.model_inputs import model_input_counts

#: `section` or `section.field`: the settings whose value can change what `cvp score` publishes.
OUTPUT_SETTINGS: tuple[str, ...] = (
    "data",  # time zone, currency, date formats, sanity bounds: how every row is read, kept or rejected
    "features",  # the run's own: the model's are used, and the manifest lists each difference
    "labels",
    "tiers",  # tiers, ratings, flags, stability
    "explain",  # the stored reasons
    "scoring.psi_threshold",  # drift warnings
    "scoring.max_model_age_days",  # the stale-model warning
    "scoring.min_churn_logit_spread",  # the flat-churn warning
    "scoring.stopped_table_rows",  # the stopped-table warning
    "scoring.carry_features",  # columns of the scores
    "profile.attributes",  # the profile inputs of the set
    "profile.lookalike",  # who is `new`, their provisional tier and reasons
    "mlflow.registered_model",  # the default model and the history bridge's earlier version
)

#: The settings no output of `cvp score` reads, with why.
OTHER_SETTINGS: dict[str, str] = {
    "demo": "the demo company `cvp demo` generates",
    "models": "training and promotion only: the model is identified by its version and training run",
    "report": "`cvp report` applies its own, when it renders the pages",
    "scoring.chunk_customers": "the results do not depend on the chunk size (tested), as with --chunk-customers",
    "scoring.drift_reference_months": "training only: the drift reference is stored with the model",
    "mlflow.tracking_dir": "where the registry is: the model is identified by its version and training run",
    "mlflow.experiment": "where training runs are logged",
    "profile.min_support": "`cvp profile` only",
    "profile.confidence": "`cvp profile` only",
    "profile.match_min_attributes": "`cvp profile` only",
    "profile.behaviour_top": "`cvp profile` only",
    "profile.acquisition_cost_by_channel": "`cvp profile` only",
    "profile.new_customer_actions": "the manager pages (`cvp report`)",
}


#: Where a training is logged, not what it reads: out of `training_digest`.
PLACES: tuple[str, ...] = ("mlflow.tracking_dir", "mlflow.experiment")


#: The settings `cvp features` reads: how rows are read, bounded and rejected, and the features' own (no label,
#: model, scoring or report setting shapes the feature table).
FEATURE_TABLE_SETTINGS: tuple[str, ...] = ("data", "features")


def output_settings(cfg: Any, names: tuple[str, ...] = OUTPUT_SETTINGS) -> dict[str, Any]:
    """The values of `names` (`section` or `section.field`; default `OUTPUT_SETTINGS`) in `cfg` (an `AppConfig`),
    keyed by their dotted names."""
    dumped = cfg.model_dump(mode="json")
    out = {}
    for name in names:
        section, _, field = name.partition(".")
        out[name] = dumped[section][field] if field else dumped[section]
    return out


def output_digest(cfg: Any, names: tuple[str, ...] = OUTPUT_SETTINGS) -> str:
    """A short hash of `output_settings(cfg, names)`: the configuration's part of a scoring run's id, or with
    `FEATURE_TABLE_SETTINGS` the feature table's manifest's `config_digest`."""
    text = json.dumps(output_settings(cfg, names), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def training_digest(cfg: Any) -> str:
    """A short hash of the whole configuration `cfg` but its `PLACES`: a training run's and a backtest's
    `config_digest`, the same for the same training logged in another store or experiment."""
    dumped = cfg.model_dump(mode="json")
    for name in PLACES:
        section, _, field = name.partition(".")
        dumped[section].pop(field)
    text = json.dumps(dumped, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


#: What a model's labels are besides the horizon and the as-of: the settings deciding who is labelled and what the
#: net profit label counts, and the inputs of the training data it reads (`features.builder.Builder.labels`: the
#: margin from `orders.cost` or guessed at `margin_rate_when_cost_missing`, minus returns, minus the cost to serve
#: when there are tickets; a cancellation from `customers.churned_at`).
TARGET_SETTINGS: tuple[str, ...] = (
    "labels.exclude_cancelled",
    "labels.max_lapse_days",
    "labels.require_order_before_cutoff",
    "features.margin_rate_when_cost_missing",  # only while some orders lack a cost (`cost_presence`)
    "features.service_hourly_cost",
    "features.cost_per_ticket",
    "data.currency",
)
GUESSED_MARGIN = "features.margin_rate_when_cost_missing"
TARGET_INPUTS: dict[str, tuple[str, ...]] = {
    "orders": ("revenue",),  # and `orders.cost` by its share (`cost_presence`)
    "returns": ("amount",),
    "tickets": ("effort_minutes",),
    "customers": ("churned_at",),
}
#: `cost_presence`'s bounds: under 1% of orders with a cost "none", 1% to under 99% "some", 99% and up "all".
COST_SOME, COST_ALL = 0.01, 0.99


def cost_presence(filled: int, rows: int) -> str:
    """How much of a training's net profit labels are real margins: "none", "some" or "all" of its orders with a
    cost (`COST_SOME`, `COST_ALL`). Coarse on purpose: a refreshed export of the same company (a few more orders,
    a few costs filled late) stays in its bucket, so its version is compared like for like; wide apart shares (5%
    of orders with a cost, 100%) are other labels. The bounds sit where a company's cost column is either unused
    (under 1%: test rows), partly filled, or filled but for stragglers (99%: the guessed margins of under 1% of
    orders barely move a label)."""
    share = filled / rows if rows else 0.0
    return "all" if share >= COST_ALL else "some" if share >= COST_SOME else "none"


def target_digest(cfg: Any, tables: Mapping[str, Any]) -> str:
    """A short hash of what a training's labels are: `TARGET_SETTINGS`, and of the training data's `tables` which
    of `TARGET_INPUTS` held a value, a table counting only when it has rows (a tickets file of a header alone is
    no tickets: was another digest than none, the same labels marked `*`), and `orders.cost` by `cost_presence`
    (was: any cost at all, 5% of orders with a cost the same labels as 100%), `margin_rate_when_cost_missing` only
    while it guesses margins (the cost not "all": was counted when every order had a cost). The `target_digest`
    param `cvp models` compares (`registry._other_folds`): two versions with other digests were backtested against
    other labels (a model trained without `orders.cost`: a net profit of guessed margins), so their metrics are not
    like for like."""
    read: dict[str, Any] = {}
    for table, columns in TARGET_INPUTS.items():
        got = model_input_counts(table, tables.get(table))
        rows, filled = got if got is not None else (0, {})
        read[table] = sorted(c for c in columns if filled.get(c, 0) > 0) if rows else None
        if table == "orders":
            read["orders.cost"] = cost_presence(filled.get("cost", 0), rows)
    names = tuple(n for n in TARGET_SETTINGS if n != GUESSED_MARGIN or read["orders.cost"] != "all")
    text = json.dumps({"settings": output_settings(cfg, names), "inputs": read}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
