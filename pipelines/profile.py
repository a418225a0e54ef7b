"""`cvp profile`: the ideal-customer profile, the lookalike counts and acquisition payback of one scoring run.

Reads the scores output set (`pipelines.outputs.read_output_set`) with the per-customer profile inputs the run
wrote (`pipelines.profile_inputs`: attributes, acquisition cost, behaviour features; the data directory only for a
run without them, scored before issue 12) and writes one directory, replaced as a whole
(`pipelines.staging.atomic_directory`): the tables of `PROFILE_FILES` and `profile.html`. `cvp report --profile DIR`
reads the directory back (`read_profile`) for the team page. The computing is `models.profile` (pure).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from features.contract import PERSONAL_COLUMNS
from features.validation import StructuralError
from pipelines.config import load_config
from pipelines.csv_cells import read_written_csv
from pipelines.output_checks import PROFILE_MARKER  # a profile directory, replaced whole

#: The tables a profile directory holds (name -> file).
PROFILE_FILES: dict[str, str] = {
    "who": "profile_attributes.csv",
    "behaviour": "profile_behaviour.csv",
    "shap": "profile_shap_drivers.csv",
    "lookalikes": "lookalikes_by_manager.csv",
    "channels": "payback_by_channel.csv",
    "customers": "payback_customers.parquet",
    "match": "profile_match.parquet",
    "new_customers": "lookalike_scores.parquet",
}


#: The text columns of the profile's CSV tables: an attribute's value (a region `NA`), a manager id (`0001`), a
#: channel, a feature's name and description (read back as text by `pipelines.csv_cells.read_written_csv`).
PROFILE_TEXTS = (
    "attribute", "value", "account_manager_id", "status", "acquisition_channel", "feature", "group", "description",
)  # fmt: skip

#: The scores columns the profile reads (with the required ones and the predictions; the reason sentences are not).
PROFILE_SCORE_COLUMNS = (
    "customer_id",
    "as_of",
    "status",
    "tier",
    "account_manager_id",
    "lookalike_*",
    "provisional_tier",
)


@dataclass(frozen=True)
class ProfileTables:
    """What `build_profile` computes (frames of `models.profile`) and the facts the pages state."""

    who: pd.DataFrame
    behaviour: pd.DataFrame
    shap: pd.DataFrame
    lookalikes: pd.DataFrame
    channels: pd.DataFrame
    customers: pd.DataFrame
    match: pd.DataFrame
    new_customers: pd.DataFrame
    facts: dict


def build_profile(
    scores: pd.DataFrame,
    contributions: pd.DataFrame | None,
    inputs: pd.DataFrame,
    cfg,
    horizon_days: int,
    manifest: dict | None = None,
) -> ProfileTables:
    """The profile of one scoring run from its per-customer inputs (`models.profile.profile_inputs`: what
    `cvp score` wrote beside the scores, or `profile_inputs_from_data`), with the pure functions of models.profile.

    `manifest`: the run's manifest (its `lookalike` entry: the registered lookalike model's facts)."""
    from features import feature_registry
    from models import payback
    from models import profile as mp
    from pipelines.reports.views import check_scores, manager_ids

    check_scores(scores, horizon_days)  # the report's rule: one row per customer, finite scores (round 36)
    pc = cfg.profile
    as_of = pd.Timestamp(pd.to_datetime(scores["as_of"]).max())
    registry = feature_registry(cfg.features)
    ids = pd.Index(scores["customer_id"].astype("str"))
    # The inputs in the order of the scores, looked up once: every table below then takes them by position (the
    # pure functions see ids already in order and skip their own lookups). A customer of the scores without
    # inputs gets missing values, as a lookup would give them, and is left out of the behaviour table.
    present = np.ones(len(ids), dtype=bool)
    if not mp.same_ids(inputs.index, ids):
        rows = inputs.index.get_indexer(ids)
        present = rows >= 0
        inputs = inputs.iloc[rows].set_axis(ids) if present.all() else inputs.reindex(ids)
    else:
        inputs = inputs.set_axis(ids)
    customers, features = mp.split_profile_inputs(inputs)
    who = mp.attribute_profile(scores, customers, pc)
    great = mp.is_great(scores)
    in_behaviour = (scores["status"].astype("str") == "scored").to_numpy() & present
    behaviour = mp.behaviour_separation(
        features.iloc[in_behaviour], great[in_behaviour], registry, pc.behaviour_top
    )
    shap = (
        mp.shap_drivers(contributions, scores, registry, pc.behaviour_top)
        if contributions is not None
        else mp.shap_drivers(pd.DataFrame(), scores, registry, pc.behaviour_top)
    )
    # a customer without a manager counts under "" (the report's rule, `views.manager_ids`): was a missing id, which
    # the per-manager counts' groupby left out (round 36: the demo's 5 such customers in no row, 525 lookalikes
    # said above a table of 524)
    owned = scores.assign(account_manager_id=manager_ids(scores["account_manager_id"]).to_numpy())
    match = mp.profile_match(owned, customers, who, pc)
    lookalikes = mp.lookalike_counts(match)
    costs = payback.acquisition_costs(customers, ids, pc.acquisition_cost_by_channel)
    realised_col = "profit_net_lifetime"
    realised = features[realised_col] if realised_col in features else pd.Series(dtype="float64")
    value_col = f"pred_expected_net_value_{horizon_days}d"
    per_customer = payback.customer_payback(scores, realised, costs, value_col)
    channels = payback.channel_payback(per_customer)
    n_scored = int((scores["status"].astype("str") == "scored").sum())
    facts = {
        "run_id": (manifest or {}).get(
            "run_id"
        ),  # the scoring run profiled: `cvp report --profile` checks it
        "as_of": as_of.strftime("%Y-%m-%d"),
        "horizon_days": horizon_days,
        "customers": len(scores),
        "scored": n_scored,
        "great": int(great.sum()),
        "base_share_great": float(great.sum() / n_scored) if n_scored else None,
        "best_tier": mp.best_tier(),
        "attributes": [a for a in pc.attributes if a in customers.columns],
        # asked for and not there: personal (never an attribute), or not among the run's customer attributes
        "attributes_personal": [a for a in pc.attributes if a in PERSONAL_COLUMNS],
        "attributes_absent": [
            a for a in pc.attributes if a not in customers.columns and a not in PERSONAL_COLUMNS
        ],
        "min_support": pc.min_support,
        "confidence": pc.confidence,
        "match_min_attributes": pc.match_min_attributes,
        "lookalikes": int(match["lookalike"].sum()),
        "cost_sources": per_customer["cost_source"].value_counts().sort_index().to_dict(),
        "realised_profit_column": realised_col,
        "expected_value_column": value_col,
        "provisional_payback": int(per_customer["payback_provisional"].sum()),
        "shap_available": contributions is not None and not shap.empty,
        "new_customer_actions": dict(pc.new_customer_actions),
    }
    new_customers, facts["lookalike"] = score_lookalikes(scores, manifest)
    return ProfileTables(
        who, behaviour, shap, lookalikes, channels, per_customer, match, new_customers, facts
    )


def profile_inputs_from_data(tables: dict[str, pd.DataFrame], as_of: pd.Timestamp, cfg) -> pd.DataFrame:
    """The profile inputs built from the data (the feature table of the whole base at `as_of`): for a run
    without `<stem>.profile_inputs.parquet` (runs scored before this version). The same
    `models.profile.profile_inputs` as `cvp score` writes chunk by chunk."""
    from features import build_feature_table, feature_registry
    from models.profile import customer_inputs, profile_inputs

    features = build_feature_table(tables, as_of, cfg.features)
    part = customer_inputs(tables.get("customers"), cfg.profile.attributes)
    return profile_inputs(features, part, feature_registry(cfg.features))


def lookalike_training(
    tables: dict[str, pd.DataFrame],
    cfg,
    as_of: pd.Timestamp,
    horizon_days: int,
    company_orders: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, list[pd.Timestamp], str]:
    """The lookalike training set at `profile.lookalike`'s cutoffs before `as_of` (tables truncated at `as_of`),
    the cutoffs, and why there is no model ("" when there is one). The cutoffs are placed as the value model's
    (`features.training.company_training_cutoffs`, with `profile.lookalike`'s number and step): the reach to last
    year only with the company's minimum history, read from `company_orders` (the whole base's orders, for
    `tables` holding a sample) or the orders of `tables`."""
    from features.training import company_training_cutoffs, truncate_tables
    from models.lookalike import lookalike_training_set

    lc = cfg.profile.lookalike
    cust = tables.get("customers")
    if cust is None or "signup_at" not in cust.columns:
        return pd.DataFrame(), [], "no customers.signup_at: new customers cannot be told apart"
    steps = {"n_cutoffs": lc.n_cutoffs, "cutoff_step_months": lc.cutoff_step_months}
    labels = cfg.labels.model_copy(update=steps)  # reach to last year as training: with its minimum history
    orders = company_orders if company_orders is not None else tables.get("orders")
    cutoffs = company_training_cutoffs(orders, as_of, horizon_days, labels)
    truncated = truncate_tables(tables, as_of)
    train = lookalike_training_set(truncated, cutoffs, horizon_days, cfg.profile.attributes, lc, cfg.features)
    if len(train) < lc.min_training_rows or train["label_great"].nunique() < 2:
        return (
            train,
            cutoffs,
            f"{len(train)} new-customer rows at the training cutoffs (need {lc.min_training_rows})",
        )
    return train, cutoffs, ""


def lookalike_run_metrics(
    tables: dict[str, pd.DataFrame],
    cfg,
    as_of: pd.Timestamp,
    horizon_days: int,
    bundle=None,
    company_orders: pd.DataFrame | None = None,
) -> tuple[dict[str, float], dict]:
    """The lookalike backtest for the training run's MLflow run: metrics `lookalike.<name>` and a document.

    Given the main model's `bundle`, the lookalike model is also fitted on the whole training set and carried
    with it (`CustomerValueModel.attach_lookalike`, with the backtest in its facts), so it is registered with the
    main models and `cvp score` uses it; without enough new customers the bundle carries None and the reason.
    """
    from models.lookalike import backtest_lookalike, fit_lookalike

    train, cutoffs, skipped = lookalike_training(tables, cfg, as_of, horizon_days, company_orders)
    if skipped:
        if bundle is not None:
            bundle.attach_lookalike(None, f"no lookalike model was fitted: {skipped}")
        return {}, {"skipped": skipped}
    result = backtest_lookalike(train, cfg.profile.attributes, cfg.profile.lookalike, horizon_days)
    document = result | {"training_rows": len(train), "cutoffs": [c.strftime("%Y-%m-%d") for c in cutoffs]}
    metrics = {
        f"lookalike.{k}": float(v)
        for k, v in result.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)
    }
    if bundle is not None:
        import dataclasses

        model = fit_lookalike(train, cfg.profile.attributes, cfg.profile.lookalike)
        facts = {"backtest": result, "training_rows": len(train), "cutoffs": document["cutoffs"]}
        facts |= {"horizon_days": horizon_days, "top_share": cfg.profile.lookalike.top_share}
        bundle.attach_lookalike(dataclasses.replace(model, facts=facts))
    return metrics, document


def score_lookalikes(scores: pd.DataFrame, manifest: dict | None) -> tuple[pd.DataFrame, dict]:
    """The new customers of the scoring run (status `new`) with the scores `cvp score` gave them from the
    lookalike model registered with the main models (`pipelines.newcomers`): customer_id, account_manager_id,
    status, P(great), expected value, reasons, provisional tier; and the facts (the registered model's backtest,
    training rows; `skipped` with the reason when the run has no lookalike scores). Never refitted here."""
    from pipelines.reports.profile_section import NEW_CUSTOMER_COLUMNS, scores_new_customers

    info = (manifest or {}).get("lookalike")
    if not info or not info.get("model") or "lookalike_prob_great" not in scores.columns:
        why = (info or {}).get("note") or (
            "the scoring run carries no lookalike scores (scored before `cvp score` gave new customers one: "
            "score again with a model trained by this version)"
        )
        return pd.DataFrame(columns=list(NEW_CUSTOMER_COLUMNS)), {"skipped": why}
    new = scores_new_customers(scores)
    facts = {
        "backtest": info.get("backtest") or {},
        "training_rows": info.get("training_rows"),
        "early_days": info.get("early_days"),
        "top_share": info.get("top_share"),
        "horizon_days": info.get("horizon_days"),  # what "great" is judged over (the page says it)
        "cutoffs": len(info.get("cutoffs") or []),
        "new_customers": len(new),
    }
    return new, facts


def write_profile(
    result: ProfileTables,
    out: Path,
    currency: str,
    banners: Mapping[str, Any] | None = None,
    registry: Mapping[str, Any] | None = None,
) -> Path:
    """Write the tables and the page into `out`, replaced as a whole; returns the page's path. `banners`: what
    atop the page says first (`phrases.page_banners`, as on the report's pages)."""
    from pipelines.io import write_frame, write_json
    from pipelines.staging import atomic_directory

    with atomic_directory(Path(out), PROFILE_MARKER) as stage:
        for key, name in PROFILE_FILES.items():
            write_frame(getattr(result, key), stage / name)
        write_json(result.facts | {"currency": currency}, stage / "profile.json")
        (stage / "profile.html").write_text(
            render_profile_page(result, currency, banners, registry), encoding="utf-8", newline="\n"
        )
    return Path(out).resolve() / "profile.html"


def render_profile_page(
    result: ProfileTables,
    currency: str,
    banners: Mapping[str, Any] | None = None,
    registry: Mapping[str, Any] | None = None,
) -> str:
    """The standalone page of `cvp profile`: the team page's profile section with its own header, and the
    warnings the report's pages say atop them (`banners`). `registry`: the run's feature registry (the features'
    labels and units; None: the default config's)."""
    from pipelines.reports.pages import _environment
    from pipelines.reports.phrases import page_banners
    from pipelines.reports.profile_section import profile_view

    view = profile_view(result, currency, registry)
    said = dict(banners) if banners is not None else page_banners({}, "unknown", 1.0)  # none said
    return (
        _environment()
        .get_template("profile.html.j2")
        .render(profile=view, title="Ideal-customer profile", **said)
    )


def read_profile(directory: Path, run_id: str | None = None) -> ProfileTables:
    """A profile directory written by `cvp profile`, read back (for `cvp report --profile`); given the `run_id` of
    the scoring run reported, a profile of another run is refused (was: its tables, new customers and payback shown
    on the pages of this run without a word)."""
    import json

    directory = Path(directory)
    if not (directory / PROFILE_MARKER).exists():
        raise StructuralError(
            f"{directory} is not a profile directory written by `cvp profile` (no {PROFILE_MARKER})"
        )
    frames = {}
    for key, name in PROFILE_FILES.items():
        path = directory / name
        if not path.exists():
            raise StructuralError(f"{path} is missing: write the profile again with `cvp profile`")
        csv = path.suffix == ".csv"  # written by `write_frame`: its texts read as written (`0001`, `NA`)
        frames[key] = read_written_csv(path, PROFILE_TEXTS) if csv else pd.read_parquet(path)
    facts = json.loads((directory / "profile.json").read_text(encoding="utf-8"))
    if run_id is not None and facts.get("run_id") != run_id:
        made = f"run {facts['run_id']}" if facts.get("run_id") else "a run it did not record"
        raise StructuralError(
            f"{directory} is the profile of another scoring run ({made}, as of {facts.get('as_of')}), not of "
            f"run {run_id}: write it for these scores (`cvp profile --scores ...`)"
        )
    return ProfileTables(**frames, facts=facts)


def run_profile(
    scores_path: Path,
    data: Path | None,
    out: Path,
    mapping: Path | None,
    config: Path | None,
    console: Console,
    tracking_uri: str | None = None,
) -> Path:
    """`cvp profile`: read the run (scores, contributions, the profile inputs it wrote), compute the profile and
    payback, write them; returns the page. `data` is read only for a run without profile inputs. The registry the
    run used (`tracking_uri`, else the manifest's) is asked for the champion now, as `cvp report` asks it."""
    from pipelines.fingerprint import check_run_currency, check_same_data, with_run_settings
    from pipelines.output_checks import check_outputs
    from pipelines.outputs import output_paths, read_output_set
    from pipelines.reports.columns import horizon_days_from_columns

    cfg = load_config(config)
    check_outputs(data, {"profile directory": Path(out)}, {}, mapping)
    run = read_output_set(
        Path(scores_path), PROFILE_SCORE_COLUMNS, with_churn=False, with_profile_inputs=True
    )
    if run.note:  # a manifest without its files' digests (before round 31): read as before, said
        console.print(f"note: {run.note}", markup=False, highlight=False)
    check_run_currency(run.manifest, cfg.data.currency, "the profile and payback")
    cfg = with_run_settings(
        run.manifest, cfg
    )  # its features as the run built them (and rebuilt so from --data)
    h = horizon_days_from_columns(list(run.scores.columns))
    path = output_paths(Path(scores_path))["profile_inputs"]
    if run.profile_inputs is not None:
        inputs = run.profile_inputs
    elif data is not None:
        from pipelines.loading import load_configured

        loaded = load_configured(data, mapping, cfg)
        recorded = run.manifest.get("data_fingerprint")
        check_same_data(  # the profile's inputs must be those of the customers the run scored
            loaded.tables, recorded, tuple(recorded or ()), exact=run.manifest.get("engine") == "pandas"
        )
        as_of = pd.Timestamp(pd.to_datetime(run.scores["as_of"]).max())
        inputs = profile_inputs_from_data(loaded.tables, as_of, cfg)
    else:
        raise StructuralError(
            f"{Path(scores_path).name} has no {path.name} beside it (scored by an older "
            "`cvp score`): pass --data with the data directory that run scored, or score again"
        )
    t0 = time.perf_counter()
    result = build_profile(run.scores, run.contributions, inputs, cfg, h, run.manifest)
    from pipelines.reports.phrases import page_banners
    from pipelines.run_notes import run_card_notes

    # what the report's pages of this run say first, said atop this page too (was: none of it: a profile of
    # scores made on old data, by another company's model or without half the rows read as any other)
    as_of_text = str(result.facts.get("as_of") or "unknown")
    from pipelines.tracking_card import champion_now_of_run

    # the champion now, as the report's pages read it: a model promoted since is production's (no "Provisional"),
    # one replaced since says so (round 28, was: `cvp profile` asked no registry)
    now = champion_now_of_run(run.manifest, cfg, tracking_uri)
    said = run_card_notes(run.manifest, now) | {
        "champion_now_version": now,
        "model_version": run.manifest.get("model_version", "?"),
    }
    banners = page_banners(said, as_of_text, cfg.report.rejected_rows_banner_share)
    from features import feature_registry

    page = write_profile(result, Path(out), cfg.data.currency, banners, feature_registry(cfg.features))
    f = result.facts
    console.print(
        f"profile of {f['great']:,} {f['best_tier']} customers among {f['scored']:,} scored "
        f"({f['customers']:,} in the run), {f['lookalikes']:,} lookalikes, payback for "
        f"{len(result.channels)} channels in {time.perf_counter() - t0:.1f} s -> {page}",
        markup=False,  # the path as written (was: `[red]` in it taken as a colour)
        highlight=False,
    )
    unknown = f["cost_sources"].get("unknown", 0)
    if unknown:
        console.print(
            f"note: the acquisition cost of {unknown:,} customers is unknown (no customers.acquisition_cost and no "
            "profile.acquisition_cost_by_channel entry for their channel): their payback is not judged"
        )
    if f["provisional_payback"]:
        console.print(
            f"note: the payback of {f['provisional_payback']:,} new customers is provisional: judged on the "
            "lookalike model's expected value (they have no main-model prediction yet)"
        )
    return page
