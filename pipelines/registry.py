"""`cvp models`: the registered versions of the model side by side, and `cvp models promote VERSION`.

A data scientist compares and promotes without retraining. `list_versions` reads each version's training run
(as-of, horizon, the backtest means of `models.primary_metrics` as `cvp train` logged them: `model.<metric>`) and
the champion's, for the difference. `promote_version` moves `@champion` and writes the promotion record
`cvp train --promote` writes (`pipelines.tracking_runs.record_promotion`): the version's `promotion` tag and its run's.
`cvp models --metrics all` (or a list) shows more metrics, one row per metric and one column per version;
`--json` writes every version with every metric the promotion rule read in its training (the model's, the
champion's refitted on the same folds, the promotion baseline's) for scripts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from features.validation import StructuralError
from pipelines.config import AppConfig, load_config
from pipelines.metric_names import METRIC_LABELS, METRIC_NAMES


@dataclass(frozen=True)
class VersionRow:
    """One registered version: its number, training run, as-of, horizon, primary metrics, aliases, promotion."""

    version: str
    run_id: str
    as_of: str
    horizon_days: str
    metrics: dict[str, float]
    aliases: tuple[str, ...]
    promotion: str
    #: every backtest mean the training logged, by model (`model`, `champion` refitted on the same folds, the
    #: baselines): {model: {metric: mean}}
    backtest: dict[str, dict[str, float]]
    #: `--sample-customers N` of its training ("" for the whole base): its folds held only those customers
    sample: str = ""
    #: `incomplete`: registered by a training that died or failed before its promotion was recorded; `files
    #: missing`: its local files are gone (a cleaned store). Neither can be promoted nor scored. `run deleted`:
    #: its training run is deleted in MLflow (`pipelines.tracking.training_run`): scored with a warning
    status: str = ""
    #: its backtest's number of folds and months between them ("" when its training did not record them): with
    #: the as-of, horizon and sample, what placed its folds (`_other_folds`)
    backtest_folds: str = ""
    backtest_step_months: str = ""
    #: the cutoffs of the folds its backtest means cover, comma-separated ("" when its training did not record
    #: them): fewer than `backtest_folds` when a fold was skipped for too little data
    backtest_fold_cutoffs: str = ""
    #: what its labels are (`run_identity.target_digest`; "" when its training did not record it): versions of
    #: other labels were backtested against other targets
    target_digest: str = ""
    #: whose data its backtest read (`history_identity.signature_digest`; "" when its training did not record it):
    #: a version trained on another company's data was backtested on other customers
    data_digest: str = ""
    #: its coarse signature (`history_identity.signature_param`; "" when its training did not record it):
    #: compared with the champion's by `history_identity.other_base`, as a scoring run compares a model's
    data_signature: str = ""


def _registry(config: Path | None, tracking_uri: str | None) -> tuple[AppConfig, str, Any]:
    from pipelines.mlflow_import import mlflow
    from pipelines.tracking_store import configure_tracking

    cfg = load_config(config)
    configure_tracking(Path(cfg.mlflow.tracking_dir), tracking_uri, reading=True)
    return cfg, cfg.mlflow.registered_model, mlflow.MlflowClient()


def list_versions(
    config: Path | None, tracking_uri: str | None, say: Callable[[str], None] | None = None
) -> tuple[AppConfig, list[VersionRow]]:
    """The registered versions of `mlflow.registered_model`, oldest first. `say`: given each note of the sweep
    of what a killed training left (a version tagged incomplete, a run marked FAILED), as `cvp train` prints them."""
    from pipelines.tracking import RUN_DELETED, STATUS_TAG, sweep_interrupted, training_run

    cfg, name, client = _registry(config, tracking_uri)
    for note in sweep_interrupted(name):  # a version a killed training left is listed as what it is
        if say is not None:
            say(note)
    from pipelines.mlflow_import import MlflowException

    try:
        registered = client.get_registered_model(name)
    except MlflowException as exc:  # a new store, nothing trained yet: "no version ... registered yet"
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":  # was: exit 1 `unexpected MlflowException`
            raise
        return cfg, []
    aliases: dict[str, list[str]] = {}  # the search's versions may not carry their aliases
    for alias, number in registered.aliases.items():
        aliases.setdefault(str(number), []).append(alias)
    rows = []
    for v in sorted(client.search_model_versions(f"name='{name}'"), key=lambda v: int(v.version)):
        params: dict[str, str] = {}
        metrics: dict[str, float] = {}
        run, deleted = training_run(client, v.run_id) if v.run_id else (None, False)
        if run is not None:
            params, metrics = run.data.params, run.data.metrics
        backtest: dict[str, dict[str, float]] = {}
        for (
            key,
            value,
        ) in metrics.items():  # `<model>.<metric>` (not the per-tier `tier.<tier>.<model>.<metric>`)
            model, _, metric = key.partition(".")
            if metric in METRIC_NAMES:
                backtest.setdefault(model, {})[metric] = value
        rows.append(
            VersionRow(
                str(v.version),
                v.run_id or "",
                params.get("as_of", ""),
                params.get("horizon_days", ""),
                {m: metrics[f"model.{m}"] for m in cfg.models.primary_metrics if f"model.{m}" in metrics},
                tuple(sorted(aliases.get(str(v.version), []))),
                (v.tags or {}).get("promotion", ""),
                backtest,
                params.get("sample_customers", ""),
                (v.tags or {}).get(STATUS_TAG, "")
                or _files_missing(client, v.source)
                or (RUN_DELETED if deleted else ""),
                params.get("backtest_folds", ""),
                params.get("backtest_step_months", ""),
                params.get("backtest_fold_cutoffs", ""),
                params.get("target_digest", ""),
                params.get("data_digest", ""),
                params.get("data_signature", ""),
            )
        )
    return cfg, rows


def _files_missing(client: Any, source: str | None) -> str:
    """`files missing` when version `source`'s model is in a local folder without its `MLmodel` file (moved or
    deleted by hand); "" otherwise, and for files a server or an object store keeps (not asked)."""
    from urllib.parse import unquote, urlsplit

    location = source or ""
    try:
        if location.startswith("models:/m-"):  # MLflow 3: the logged model's own folder
            location = str(client.get_logged_model(location.removeprefix("models:/")).artifact_location)
    except Exception:
        return ""
    if not location.startswith("file:"):
        return ""
    return "" if (Path(unquote(urlsplit(location).path)) / "MLmodel").is_file() else "files missing"


def chosen_metrics(asked: str, primary: tuple[str, ...]) -> list[str]:
    """The metrics `cvp models --metrics` names: `primary` (`models.primary_metrics`), `all`, or a comma list."""
    if asked.strip() == "primary":
        return list(primary)
    if asked.strip() == "all":
        return list(METRIC_NAMES)
    names = [m.strip() for m in asked.split(",") if m.strip()]
    unknown = [m for m in names if m not in METRIC_NAMES]
    if unknown or not names:
        raise StructuralError(
            f"--metrics {asked!r}: unknown metric {', '.join(unknown) or '(none named)'}; use primary, all or a "
            f"comma list of {', '.join(METRIC_NAMES)}"
        )
    return names


#: Marks a version backtested on other folds than the champion (`_as_of`), explained under the table.
OTHER_FOLDS = "*"
#: The as-of's mark of a version whose labels cannot be compared with the champion's (`_labels_unknown`).
LABELS_UNKNOWN = "?"
OTHER_FOLDS_NOTE = (
    "*: another as-of, horizon, customer sample, number or spacing of backtest folds than the champion's (or a "
    "fold skipped for too little data), so other backtest folds, or other labels (other label settings, or "
    "training data without orders.cost or with it on some orders only, without returns, tickets or "
    "customers.churned_at), or other data (another company's orders, or the orders of the year before the "
    "as-of added to or renumbered since): its differences are not like for like (`--metrics all` shows what its promotion rule "
    "compared on its own folds)"
)


LABELS_UNKNOWN_NOTE = (
    "?: it or the champion was trained before trainings recorded what their labels are (`target_digest`): "
    "whether it was backtested against the champion's labels (the same label settings; training data with "
    "orders.cost, returns, tickets and customers.churned_at as the champion's) is unknown, so its differences "
    "may not be like for like"
)


def _labels_unknown(r: VersionRow, champion: VersionRow | None) -> bool:
    """Whether version `r`'s labels cannot be compared with the champion's: like for like on everything else
    (`_other_folds` False), but one of the two trainings did not record its `target_digest` (registered before
    round 18). Was: judged equal, unmarked, so a version trained without `orders.cost` before the digest was
    recorded listed its Gini on guessed-margin net profits beside the champion's, as like for like."""
    if champion is None or r is champion or _other_folds(r, champion):
        return False
    return not (r.target_digest and champion.target_digest)


def _cell(r: VersionRow, metric: str, champion: VersionRow | None) -> str:
    value = r.backtest.get("model", {}).get(metric)
    cell = "-" if value is None else f"{value:.3f}"
    theirs = None if champion is None else champion.backtest.get("model", {}).get(metric)
    if value is not None and theirs is not None and r is not champion:
        cell += f" ({value - theirs:+.3f})"
    return cell


def _other_data(r: VersionRow, champion: VersionRow) -> bool:
    """Whether version `r` was trained on another company's data than the champion (round 24): by their coarse
    signatures where both recorded one, with scoring's rule (`history_identity.other_base`: one order added or
    late is the same company's; was: the digests compared exactly, a version trained a day later on one more
    order marked as other data), otherwise by `data_digest`."""
    from pipelines.history_identity import other_base, signature_from_param

    if r.data_signature and champion.data_signature:
        theirs = signature_from_param(champion.data_signature)
        return other_base(signature_from_param(r.data_signature), theirs) is not None
    return bool(r.data_digest and champion.data_digest and r.data_digest != champion.data_digest)


def _other_folds(r: VersionRow, champion: VersionRow | None) -> bool:
    """Whether version `r` was backtested on other folds than the champion: another as-of, horizon or customer
    sample, other labels (`target_digest`: a model trained without `orders.cost` against net profits of guessed
    margins, its Gini 0.777 listed as -0.053 beside the champion's on the real ones), other data (`data_digest`:
    another company's, round 24: a 300-customer company's model listed "0.695 (-0.148)" Gini beside the demo
    company's champion, unmarked), or another number of folds,
    or of months between two of them, where both trainings recorded it (a
    version registered before the spacing was recorded is judged on the rest). Was: the same model trained with
    `backtest_folds` 2 instead of 1 listed "-0.064" AUC against the champion, unmarked, its mean over two folds
    against the champion's one."""
    if champion is None:
        return False
    if (r.as_of, r.horizon_days, r.sample) != (champion.as_of, champion.horizon_days, champion.sample):
        return True
    if all(digests := (r.target_digest, champion.target_digest)) and digests[0] != digests[1]:
        return True  # other labels (round 18); was: listed as like for like
    if _other_data(r, champion):
        return True
    folds, step = (
        (r.backtest_folds, champion.backtest_folds),
        (r.backtest_step_months, champion.backtest_step_months),
    )
    if all(folds) and folds[0] != folds[1]:
        return True
    cutoffs = (fold_cutoffs_of(r), fold_cutoffs_of(champion))
    if (
        None not in cutoffs and cutoffs[0] != cutoffs[1]
    ):  # a fold skipped for too little data in one of the two
        return True
    return (
        folds[0] == folds[1] != "1" and all(step) and step[0] != step[1]
    )  # one fold: placed by the as-of alone


def fold_cutoffs_of(r: VersionRow) -> list[str] | None:
    """The cutoffs of the folds version `r`'s backtest means cover, from its training's `backtest_fold_cutoffs`
    param (`backtest_record.evaluated_folds`: comma-separated, "none" for no fold): [] for none, None when its training did
    not record them (trained before they were)."""
    if not r.backtest_fold_cutoffs:
        return None
    return [c for c in r.backtest_fold_cutoffs.split(",") if c and c != "none"]


def _folds(r: VersionRow) -> str:
    """The `--metrics all` table's folds of a version: "3 (3 mo)", "2 of 3 (3 mo)" when a fold was skipped for too
    little data, "1" for one fold; "3 planned (3 mo)" when its training recorded the planned folds but not those
    the means cover (was: "3 (3 mo)", as if they covered all three), "?" when it recorded neither (was: no such
    row, the folds behind each mean unsaid)."""
    if not r.backtest_folds:
        return "?"
    evaluated, planned = fold_cutoffs_of(r), r.backtest_folds
    n = "" if evaluated is None else str(len(evaluated))
    said = f"{planned} planned" if not n else planned if n == planned else f"{n} of {planned}"
    return (
        said
        if r.backtest_folds == "1" or not r.backtest_step_months
        else f"{said} ({r.backtest_step_months} mo)"
    )


def _as_of(r: VersionRow, champion: VersionRow | None) -> str:
    """The version's as-of, marked when it was backtested on other folds than the champion (`_other_folds`): its
    differences from the champion are then not like for like."""
    if _other_folds(r, champion):
        return r.as_of + OTHER_FOLDS
    return r.as_of + (LABELS_UNKNOWN if _labels_unknown(r, champion) else "")


def versions_json(rows: list[VersionRow], cfg: AppConfig) -> str:
    """`cvp models --json`: every version with every backtest mean of its training, by model, for scripts."""
    import json

    from pipelines.tracking import CHAMPION

    champion = next((r for r in rows if CHAMPION in r.aliases), None)
    mine = {} if champion is None else champion.backtest.get("model", {})
    out = {
        "registered_model": cfg.mlflow.registered_model,
        "primary_metrics": list(cfg.models.primary_metrics),
        "promotion_baseline": cfg.models.promotion_baseline,
        "champion": None if champion is None else champion.version,
        "versions": [
            {
                "version": r.version,
                "aliases": list(r.aliases),
                "run_id": r.run_id,
                "as_of": r.as_of,
                "horizon_days": int(r.horizon_days) if r.horizon_days.isdigit() else None,
                "sample_customers": int(r.sample) if r.sample.isdigit() else None,
                # its backtest's folds and months between them (None: not recorded by its training)
                "backtest_folds": int(r.backtest_folds) if r.backtest_folds.isdigit() else None,
                "backtest_step_months": int(r.backtest_step_months)
                if r.backtest_step_months.isdigit()
                else None,
                # the cutoffs of the folds its means cover (a fold skipped for too little data is not among
                # them; None: not recorded by its training)
                "backtest_fold_cutoffs": fold_cutoffs_of(r),
                # what its labels are (`run_identity.target_digest`; None: not recorded by its training)
                "target_digest": r.target_digest or None,
                # whose data its backtest read (`history_identity.signature_digest`; None: not recorded)
                "data_digest": r.data_digest or None,
                "promotion": r.promotion,
                # "incomplete", "files missing": never usable; "run deleted": scored with a warning
                "status": r.status or None,
                "backtest": r.backtest,
                # the champion's as-of, horizon, sample and number and spacing of backtest folds and labels
                # (`_other_folds`): the differences are like for like; None: no champion, or its labels or the
                # champion's not recorded (`_labels_unknown`: unknown, was: true)
                "same_folds_as_champion": None
                if champion is None or _labels_unknown(r, champion)
                else not _other_folds(r, champion),
                "vs_champion": {
                    m: v - mine[m]
                    for m, v in r.backtest.get("model", {}).items()
                    if m in mine and r is not champion
                },
            }
            for r in rows
        ],
    }
    return json.dumps(out, indent=2, sort_keys=False)


def run_models(
    config: Path | None,
    tracking_uri: str | None,
    console: Any,
    metrics: str = "primary",
    as_json: bool = False,
    notes: Any = None,
) -> list[VersionRow]:
    """`cvp models`: the versions as a table, each metric with its difference from the champion's.

    The primary metrics (default) fit one row per version in 80 columns; more (`--metrics all` or a list) are
    shown one row per metric, one column per version. `as_json`: `versions_json` instead, nothing else printed.
    The notes of what the listing made honest (`list_versions`; was: done, not said) go to `notes` (the CLI's
    stderr with `--json`), else to `console`, as `cvp train` prints them."""
    from rich.table import Table

    shown = console if notes is None else notes
    cfg, rows = list_versions(config, tracking_uri, lambda note: shown.print(f"[yellow]note:[/] {note}"))
    asked = chosen_metrics(metrics, tuple(cfg.models.primary_metrics))
    if as_json:
        console.print(versions_json(rows, cfg), markup=False, highlight=False, soft_wrap=True, emoji=False)
        return rows
    name = cfg.mlflow.registered_model
    if not rows:
        console.print(f"no version of {name} is registered yet: train one with `cvp train`")
        return rows
    from pipelines.tracking import CHAMPION

    champion = next((r for r in rows if CHAMPION in r.aliases), None)
    caption = "run: the training's MLflow run; days: the horizon; metrics: backtest means (vs the champion)"
    if metrics.strip() != "primary":
        caption += (
            '; folds: the backtest\'s folds the means cover (of those planned; months apart; "planned": which it'
            " covers not recorded)"
            "; last rows: what each training's promotion rule compared the model with, on the same folds"
        )
    table = Table(title=f"registered model {name}", caption=caption, box=None, pad_edge=False)
    if metrics.strip() != "primary":  # wide: one row per metric, one column per version
        table.add_column("metric", no_wrap=True)
        for r in rows:
            table.add_column(f"v{r.version} {_alias(r)}".strip(), no_wrap=True, justify="right")
        table.add_row("run", *(r.run_id[:8] for r in rows))
        table.add_row("as-of", *(_as_of(r, champion) for r in rows))
        table.add_row("days", *(r.horizon_days for r in rows))
        table.add_row("customers", *(r.sample or "all" for r in rows))
        table.add_row("folds", *(_folds(r) for r in rows))
        for m in asked:
            table.add_row(m, *(_cell(r, m, champion) for r in rows))
        base = cfg.models.promotion_baseline
        for m in cfg.models.primary_metrics:  # what each training's promotion rule compared the model with
            for model, label in (("champion", "the champion refitted"), (base, base)):
                values = [r.backtest.get(model, {}).get(m) for r in rows]
                table.add_row(f"{m}: {label}", *("-" if v is None else f"{v:.3f}" for v in values))
        console.print(table)
        _say_other_folds(rows, champion, console)
        return rows
    for column in ("version", "alias", "run", "as-of", "days"):
        table.add_column(column, no_wrap=True)
    for metric in asked:
        table.add_column(METRIC_LABELS.get(metric, metric), no_wrap=True, justify="right")
    for r in rows:
        alias = _alias(r)
        cells = [_cell(r, m, champion) for m in asked]
        table.add_row(r.version, alias, r.run_id[:8], _as_of(r, champion), r.horizon_days, *cells)
    console.print(table)
    _say_other_folds(rows, champion, console)
    return rows


def _alias(r: VersionRow) -> str:
    """The alias column: the version's aliases and its status (`incomplete` for a version a failed training left,
    was: blank, as a usable version without alias; `run deleted` beside the champion's alias, was: not a word)."""
    return ", ".join([*r.aliases, r.status] if r.status else r.aliases)


def _say_other_folds(rows: list[VersionRow], champion: VersionRow | None, console: Any) -> None:
    if any(_other_folds(r, champion) for r in rows):
        console.print(OTHER_FOLDS_NOTE, markup=False, highlight=False)
    if any(_labels_unknown(r, champion) for r in rows):
        console.print(LABELS_UNKNOWN_NOTE, markup=False, highlight=False)


def promote_version(
    version: str, config: Path | None, tracking_uri: str | None, console: Any, force: bool = False
) -> str | None:
    """`cvp models promote VERSION`: `@champion` moved to a registered version (its `@challenger` alias, if it
    held it, removed); returns the version it replaced (None: there was no champion). A version that is not registered, or that a training killed before its
    promotion registered (`pipelines.tracking.STATUS_TAG`), is refused: exit 2 naming the registered ones. The
    version is judged against the configuration as `cvp score` judges it before reading data (`pipelines.registry_contract.judge_contract`):
    what would stop every run refuses the promotion (`force`: promoted anyway, said), the settings `cvp score`
    would replace by the model's are said."""
    from pipelines.mlflow_import import MlflowException
    from pipelines.tracking import (
        CHALLENGER,
        CHAMPION,
        INCOMPLETE,
        STATUS_TAG,
        UnreadableModel,
        current_champion,
        load_bundle,
    )
    from pipelines.tracking_runs import record_promotion, training_refusal

    cfg, name, client = _registry(config, tracking_uri)
    version = str(version).strip().removeprefix("v")
    try:
        found = client.get_model_version(name, version)
    except MlflowException:
        found = None
    if found is None:
        listed = sorted((str(v.version) for v in client.search_model_versions(f"name='{name}'")), key=int)
        known = f"registered: {', '.join(listed)}" if listed else "none is registered yet (`cvp train`)"
        raise StructuralError(f"version {version!r} of {name} is not registered ({known}); see `cvp models`")
    if (found.tags or {}).get(STATUS_TAG) == INCOMPLETE:
        raise StructuralError(
            f"version {version} of {name} is incomplete: the training that registered it died before its "
            "promotion was decided; train again (`cvp train`)"
        )
    before = current_champion(name)
    if before == version:
        console.print(f"version {version} of {name} is already champion; nothing changed")
        return before
    try:  # a version whose files are gone or corrupt never becomes champion (was: promoted, exit 0, and the next
        loaded = load_bundle(f"models:/{name}/{version}")  # `cvp score` stopped on it)
    except UnreadableModel as exc:
        raise StructuralError(
            f"version {version} of {name} cannot be made champion: {exc.why} (the tracking store's artefacts "
            "moved or deleted?); @champion is unchanged. Restore its files, or train again (`cvp train`)"
        ) from exc
    from pipelines.registry_contract import judge_contract

    said, notes = judge_contract(loaded, cfg, version, name, config, force, before)
    replaced = f"replaced v{before}" if before else "there was no champion"
    reason = f"promoted by `cvp models promote` ({replaced})"
    refused = training_refusal((found.tags or {}).get("promotion", ""))
    # its training's verdict kept beside the override (was: overwritten, unsaid); the card says it
    if refused:
        reason += f"; its training's promotion rule: {refused[0]}: {refused[1]}"
    record_promotion(client, name, version, CHAMPION, reason, found.run_id)
    if CHALLENGER in (getattr(found, "aliases", None) or []):  # a challenger no more
        client.delete_registered_model_alias(name, CHALLENGER)
    console.print(f"{name} version {version} is now champion ({replaced})", markup=False, highlight=False)
    if refused:
        console.print(
            f"warning: version {version}'s promotion rule "
            f"{'did not pass it' if refused[0] == 'not promoted' else 'could not judge it'} at its training "
            f"({refused[1]}); it is champion on your word: "
            "the next `cvp score` uses it (kept in its promotion record; `cvp models promote` another version "
            "to undo)",
            markup=False,
            highlight=False,
        )
    for text in said:
        console.print(f"warning: {text}", markup=False, highlight=False)
    for text in notes:
        console.print(f"note: {text}", markup=False, highlight=False)
    was, h = _horizon(client, name, before), _horizon(client, name, version)
    if None not in (was, h) and was != h:  # was: the horizon the pages and columns speak of swapped, unsaid
        console.print(
            f"warning: version {version} predicts {h} days, the champion it replaced (v{before}) {was}: the next "
            f"`cvp score` writes pred_*_{h}d columns instead of pred_*_{was}d (a job reading those must follow) "
            "and its runs are not compared with the earlier ones (a score history keeps one horizon: give it "
            "another --history)",
            markup=False,
            highlight=False,
        )
    return before


def _horizon(client: Any, name: str, version: str | None) -> int | None:
    """The horizon in days version `version` of `name` was trained for (its run's params); None when unknown."""
    if version is None:
        return None
    try:
        run_id = client.get_model_version(name, version).run_id
        return int(client.get_run(run_id).data.params["horizon_days"])
    except Exception:
        return None
