"""What a backtest and a training record of how the models were compared: the backtest's metrics, plots and facts
written as one directory (`write_backtest`), the mean metrics (`summary_metrics`), the comparison's facts
(`modelling_params`: as-of, horizon, folds, config and target digests, the sample, whose data) and the folds the
means cover (`evaluated_folds`). Called by `pipelines.train` (`cvp train`, `cvp backtest`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from models.backtest import BacktestResult
from pipelines.config import AppConfig
from pipelines.history_identity import signature_digest, signature_of, signature_param
from pipelines.io import write_frame, write_json
from pipelines.output_checks import BACKTEST_MARKER
from pipelines.plots import backtest_plots
from pipelines.run_identity import target_digest, training_digest
from pipelines.sampling import TrainingSample
from pipelines.staging import atomic_directory


def write_backtest(
    result: BacktestResult,
    out_dir: Path,
    rows: dict[str, Any] | None = None,
    facts: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Write the metrics and plots into `out_dir`, replaced as a whole (`pipelines.staging.atomic_directory`;
    was: the files written one by one into it, a kill leaving new metrics beside an earlier run's plots); with
    `rows` (`cvp backtest`: the input rows' counts) also `rejected_rows.json`, a training run's artefact of the
    same name (`pipelines.rejected_rows.rows_document`; a training logs its own), and with `facts`
    (`modelling_params`) `backtest_run.json`."""
    final = Path(out_dir).resolve()
    with atomic_directory(final, BACKTEST_MARKER) as stage:
        files = {
            "metrics": write_frame(result.metrics, stage / "backtest_metrics.csv"),
            "summary": write_frame(result.summary, stage / "backtest_summary.csv"),
        }
        if rows is not None:
            from pipelines.rejected_rows import TRAINING, rows_document

            files["rejected_rows"] = write_json(rows_document(rows, TRAINING), stage / "rejected_rows.json")
        if facts is not None:
            # with the notes said under its tables, as a training's run keeps them (notes.json) (round 27, was:
            # on screen only: a fold skipped, metrics made optimistic by a history too short for an embargo)
            files["run"] = write_json(facts | {"notes": list(result.notes)}, stage / "backtest_run.json")
        if not result.fold_totals.empty:
            files["fold_totals"] = write_frame(result.fold_totals, stage / "backtest_fold_totals.csv")
        if not result.metrics_by_tier.empty:
            files["by_tier"] = write_frame(result.summary_by_tier, stage / "backtest_by_tier.csv")
        files.update(backtest_plots(result, stage))
    return {k: final / p.name for k, p in files.items()}


def summary_metrics(result: BacktestResult, model: str = "model") -> dict[str, float]:
    s = result.summary
    s = s[s["model"] == model]
    return {str(m): float(v) for m, v in zip(s["metric"], s["mean"], strict=True)}


def modelling_params(
    cfg: AppConfig,
    as_of: pd.Timestamp,
    sample: TrainingSample | None,
    tables: Mapping[str, Any],
    signature: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What a training run's params and a backtest's `backtest_run.json` both record of how the models were
    compared: as-of, horizon, folds, the configuration's digest, what the labels are (`target_digest` of the
    settings and which inputs of the data's `tables` the labels read) and the customer sample
    (`--sample-customers`; none without one) and whose data (`data_digest`: `history_identity.signature_digest`). Was: a backtest recorded none of it, so one on 300 sampled customers
    or another horizon looked like any other. `signature`: the data's `signature_of(tables, as_of)` when the caller
    has it already (a training keeps it in the model too: computed once)."""
    if signature is None:
        signature = signature_of(tables, as_of)
    return {
        "as_of": as_of.date().isoformat(),
        "horizon_days": cfg.labels.horizon_days,
        "backtest_folds": cfg.models.backtest_folds,
        # with the as-of, horizon and folds, what places the folds: `cvp models` marks a version backtested on
        # other folds than the champion's (was: 2 folds against 1 listed as a like-for-like difference)
        "backtest_step_months": cfg.models.backtest_step_months,
        "config_digest": training_digest(cfg),
        # what its labels are: `cvp models` marks a version trained against other labels than the champion's
        "target_digest": target_digest(cfg, tables),
        # whose data: `cvp models` marks a version backtested on other data (another company's) than the champion
        "data_digest": signature_digest(signature),
        # and compares it as scoring does (`history_identity.other_base`): one order added is the same company's
        "data_signature": signature_param(signature),
    } | (sample.params() if sample is not None else {})


def evaluated_folds(result: BacktestResult) -> list[str]:
    """The cutoffs of the folds the backtest means cover, oldest first (ISO dates): a fold skipped for too little
    data is not among them (`BacktestResult.evaluated_cutoffs`). Recorded beside `backtest_folds` (the planned
    number) as `backtest_fold_cutoffs`: in `backtest_run.json` this list, as `cvp models --json` gives it (was: the
    string "none" for no fold), in a training's params comma-separated, "none" for no fold (an MLflow param is a
    string; `registry.fold_cutoffs_of` reads it back): `cvp models` compares versions on these (was: a mean over
    two of three planned folds listed as like for like beside one over three)."""
    return [c.date().isoformat() for c in result.evaluated_cutoffs]
