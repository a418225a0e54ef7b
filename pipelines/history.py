"""The score history: every scoring run kept by as-of, stable tiers across runs, transitions between two runs.

Layout of a history directory (`cvp score ... --history DIR`):

    DIR/.cvp-history                  marker: a directory this product writes (any other non-empty one is refused)
    DIR/as_of=YYYY-MM-DD/scores.parquet         the run's published scores (no personal columns)
    DIR/as_of=YYYY-MM-DD/contributions.parquet  its exact value contributions (currency, `customer_id` + features)
    DIR/as_of=YYYY-MM-DD/churn_contributions.parquet  its churn contributions (probability points, same layout;
                                                both engines write them; absent in older runs)
    DIR/as_of=YYYY-MM-DD/bridge_contributions.parquet, bridge_churn_contributions.parquet
                                                when the model changed since the previous run: that run's model
                                                on this run's data (value, churn; same layout), the bridge of the
                                                data/model split (`models.transitions`); its version in run.json
    DIR/as_of=YYYY-MM-DD/run.json               as-of, run id, model version, horizon, counts by tier and status

One partition per as-of, written into a staging directory inside DIR and renamed into place
(`pipelines.io.replace_path`): a rerun of the same as-of replaces its partition whole, so appending is idempotent,
and a reader sees the old partition or the new one, never a mix. Hidden entries (staging directories of a killed
run, an old partition being replaced) are never read and are removed by the next append.

Runs of different horizons are never compared: stability, transitions and the report refuse (exit 2) when the two
runs they would compare predict over different horizons. `cvp history` lists every run and says when horizons mix.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from features.validation import StructuralError
from pipelines import io
from pipelines.output_checks import HISTORY_MARKER, file_in_the_way

__all__ = [
    "HISTORY_MARKER",
    "HistoryRun",
    "append_run",
    "apply_stability",
    "bridge_source",
    "read_bridge",
    "check_same_horizon",
    "check_same_customers",
    "list_runs",
    "open_history",
    "previous_run",
    "read_run",
    "read_run_churn",
    "run_history",
    "transitions_between",
]

LOCK_FILE = ".cvp-history.lock"  #: held while a run is appended (`pipelines.locks`)
SCORES_FILE = "scores.parquet"
CONTRIB_FILE = "contributions.parquet"
CHURN_FILE = "churn_contributions.parquet"  # optional: older runs have none
BRIDGE_FILE = "bridge_contributions.parquet"  # optional: only when the model changed (issue 15)
BRIDGE_CHURN_FILE = "bridge_churn_contributions.parquet"
RUN_FILE = "run.json"
_PARTITION = re.compile(r"^as_of=(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class HistoryRun:
    """One run of the history (its `run.json` and where its files are)."""

    as_of: str
    run_id: str
    model_version: str
    horizon_days: int
    tiers: dict[str, int]
    statuses: dict[str, int]
    stability_rule: str
    path: Path


def open_history(path: Path, create: bool) -> Path:
    """The history directory, checked: ours (marker), or absent/empty when `create` (then marked).

    Anything else exits 2: a file, a non-empty directory this product did not write (its files are left alone),
    or, when not creating, a directory that does not exist.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise StructuralError(f"--history {path} is a file, not a history directory")
    blocker = file_in_the_way(path)
    if blocker is not None:  # `--history afile/h` (was: exit 1, `unexpected NotADirectoryError`)
        raise StructuralError(f"--history {path} cannot be created: {blocker} is a file, not a directory")
    if path.is_dir() and (path / HISTORY_MARKER).is_file():
        return path
    if not create:
        if not path.exists():
            raise StructuralError(
                f"--history {path} does not exist: run `cvp score ... --history {path}` first to start one"
            )
        raise StructuralError(
            f"--history {path} is not a score history (no {HISTORY_MARKER} in it): give the directory "
            "`cvp score --history` writes"
        )
    if path.is_dir() and any(path.iterdir()):
        raise StructuralError(
            f"--history {path} is not empty and is not a score history (no {HISTORY_MARKER} in it): choose a new "
            "or empty directory; its files are left untouched"
        )
    path.mkdir(parents=True, exist_ok=True)
    (path / HISTORY_MARKER).write_text("score history written by cvp; one as_of=YYYY-MM-DD/ per run\n")
    return path


def _read_run_info(folder: Path) -> HistoryRun:
    run_file = folder / RUN_FILE
    missing = [n for n in (RUN_FILE, SCORES_FILE, CONTRIB_FILE) if not (folder / n).is_file()]
    if missing:
        raise StructuralError(
            f"history partition {folder} lacks {', '.join(missing)}: it was not written by `cvp score "
            "--history`; remove it or rerun that as-of"
        )
    try:
        info = json.loads(run_file.read_text(encoding="utf-8"))
        as_of = str(info["as_of"])
        run = HistoryRun(
            as_of=as_of,
            run_id=str(info["run_id"]),
            model_version=str(info["model_version"]),
            horizon_days=int(info["horizon_days"]),
            tiers={str(k): int(v) for k, v in dict(info.get("tiers", {})).items()},
            statuses={str(k): int(v) for k, v in dict(info.get("statuses", {})).items()},
            stability_rule=str(info.get("stability_rule", "none")),
            path=folder,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StructuralError(f"history partition {folder}: {RUN_FILE} is not readable ({exc!r})") from exc
    if f"as_of={as_of}" != folder.name:
        raise StructuralError(f"history partition {folder} holds the run as of {as_of}: the names disagree")
    return run


def list_runs(history: Path) -> list[HistoryRun]:
    """Every run of an existing history, oldest first (hidden entries ignored; anything foreign refused)."""
    history = open_history(history, create=False)
    runs = []
    for entry in sorted(history.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir() or not _PARTITION.match(entry.name):
            raise StructuralError(
                f"--history {history} holds {entry.name!r}, which is not a run (as_of=YYYY-MM-DD/): a history "
                "directory holds only what `cvp score --history` writes"
            )
        runs.append(_read_run_info(entry))
    return runs


def check_same_horizon(runs: Sequence[HistoryRun], horizon_days: int | None, what: str) -> None:
    """Refuse (exit 2) to compare runs of different horizons; `horizon_days` is the run being added, if any."""
    seen = {r.horizon_days for r in runs} | ({horizon_days} if horizon_days is not None else set())
    if len(seen) > 1:
        detail = ", ".join(f"{r.as_of}: {r.horizon_days} days" for r in runs)
        if horizon_days is not None:
            detail += f"; this run: {horizon_days} days"
        raise StructuralError(
            f"{what} would compare runs of different horizons ({detail}); predictions over different horizons "
            "are not comparable: keep one history per horizon"
        )


#: Below this share of the previous run's customers found again, two runs are not the same customer base.
MIN_CUSTOMERS_KEPT = 0.5
#: From this many previous customers found again under another spelling of their id (or 1% of them, if more),
#: the id format changed between the runs.
MIN_RESPELLED = 3


def check_same_customers(previous: HistoryRun, ids: pd.Series, as_of: str, what: str) -> None:
    """Refuse (exit 2) to compare a run with `previous` when their customer ids do not name the same customers.

    Every customer known before an as-of is in its run's scores (whatever their status), so a run holds nearly
    all the customers of the run before. When fewer than `MIN_CUSTOMERS_KEPT` of them are found again, or some
    reappear under another spelling of their id (`C001` then `1`, `00042` then `42`: leading zeros dropped by a
    spreadsheet, a prefix dropped by another system, numbers for text; `features.ids.respelled_ids`), the ids
    changed: compared as they are, every customer would be new and every stable tier reset, without a word."""
    from features.ids import respelled_ids

    before = _read_columns(previous, ["customer_id"])["customer_id"]
    if not len(before):
        return
    now = ids.astype("str")
    kept = int(before.isin(pd.Index(now.unique())).sum())
    respelled = respelled_ids(before, now)
    enough = max(MIN_RESPELLED, int(0.01 * len(before)) + 1)
    if kept >= MIN_CUSTOMERS_KEPT * len(before) and len(respelled) < enough:
        return
    detail = f"{kept:,} of the {len(before):,} customers of the history's run as of {previous.as_of} are in this run"
    detail += f" as of {as_of} ({kept / len(before):.0%})"
    if respelled:
        shown = ", ".join(f"{a!r} now {b!r}" for a, b in respelled[:5])
        detail += f"; {len(respelled):,} of the others are here under another spelling of their id ({shown})"
        cause = "the customer id format changed between the runs (leading zeros dropped by a spreadsheet, a prefix "
        cause += "dropped, numbers written for text)"
    else:
        gone = before[~before.isin(pd.Index(now.unique()))].head(3).tolist()
        cause = f"the ids do not name the same customers (gone: {', '.join(map(repr, gone))}; this run: "
        cause += ", ".join(map(repr, now.head(3).tolist())) + ")"
    raise StructuralError(
        f"{what}: {detail}: {cause}. Compared as they are, these customers would be new and their stable tiers "
        "reset. Give the ids as the earlier runs wrote them (keep them as text), or start a new history "
        "directory for another customer base"
    )


def read_run(run: HistoryRun) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scores, contributions indexed by customer_id) of one run, ids as text."""
    from pipelines.outputs import SCORES_SCHEMA

    try:
        scores = pd.read_parquet(run.path / SCORES_FILE)
        contrib = pd.read_parquet(run.path / CONTRIB_FILE)
    except Exception as exc:  # pyarrow raises its own types for damaged files
        raise StructuralError(f"history run {run.as_of}: its files are not readable ({exc})") from exc
    scores = SCORES_SCHEMA.conform(scores, str(run.path / SCORES_FILE))
    scores["customer_id"] = scores["customer_id"].astype("str")
    if "customer_id" in contrib.columns:
        contrib["customer_id"] = contrib["customer_id"].astype("str")
        contrib = contrib.drop(columns=[c for c in ("run_id",) if c in contrib]).set_index("customer_id")
    return scores, contrib


def read_run_churn(run: HistoryRun) -> pd.DataFrame | None:
    """The churn contributions of one run (probability points, index customer_id), None when it has none."""
    from pipelines.outputs import read_churn_contributions

    return read_churn_contributions(run.path / CHURN_FILE, run.run_id)


def _read_columns(run: HistoryRun, columns: list[str]) -> pd.DataFrame:
    """Only `columns` of a run's scores (the tier history needs three of them, not the reason sentences)."""
    try:
        scores = pd.read_parquet(run.path / SCORES_FILE, columns=columns)
    except Exception as exc:  # a damaged file, or one without the columns
        raise StructuralError(
            f"history run {run.as_of}: cannot read {columns} from its scores ({exc})"
        ) from exc
    scores["customer_id"] = scores["customer_id"].astype("str")
    return scores


def previous_run(runs: Sequence[HistoryRun], as_of: str) -> HistoryRun | None:
    """The latest run strictly before `as_of` (YYYY-MM-DD), or None."""
    earlier = [r for r in runs if r.as_of < as_of]
    return earlier[-1] if earlier else None


def bridge_source(history: Path | None, as_of: str, model_version: str) -> HistoryRun | None:
    """The history's run before `as_of` when it was scored with another model version than `model_version`
    (issue 15: this run then explains its data with that run's model too), else None (also without a history)."""
    if history is None or not (Path(history) / HISTORY_MARKER).is_file():
        return None
    previous = previous_run(list_runs(history), as_of)
    if previous is None or previous.model_version == str(model_version):
        return None
    return previous


def read_bridge(run: HistoryRun) -> tuple[pd.DataFrame | None, pd.DataFrame | None, str | None]:
    """A history run's bridge: (value, churn contributions of the previous run's model on its data, that
    model's version); (None, None, None) when the run has none."""
    from pipelines.outputs import read_churn_contributions

    try:
        info = json.loads((run.path / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StructuralError(f"history partition {run.path}: {RUN_FILE} is not readable ({exc!r})") from exc
    version = (info.get("bridge") or {}).get("old_model_version")
    value = read_churn_contributions(run.path / BRIDGE_FILE, run.run_id)
    if version is None or value is None:
        return None, None, None
    return value, read_churn_contributions(run.path / BRIDGE_CHURN_FILE, run.run_id), str(version)


def apply_stability(scores: pd.DataFrame, history: Path | None, cfg: Any, horizon_days: int) -> pd.DataFrame:
    """The scores with `tier` = the reported tier under `tiers.stability` and `raw_tier` = this run's own tier.

    Called by the scoring job before it publishes. Without a history the reported tier is the raw tier. With one,
    `models.stability.stable_tiers` runs over the raw tiers of the history's runs before this as-of plus this run
    (runs after it are not read: a backfill does not see the future). A customer whose reported tier differs
    from the raw one gets a `tier_reason` saying so.
    """
    out = scores.copy(deep=False)  # copy-on-write: the caller's frame is not changed, no column copied
    raw = out["tier"].astype("str")
    out.insert(out.columns.get_loc("tier") + 1, "raw_tier", raw)
    if history is None:
        return out
    from models.stability import stable_tiers

    rule = cfg.tiers.stability
    as_of = pd.Timestamp(out["as_of"].iloc[0]).date().isoformat() if len(out) else ""
    runs = [r for r in list_runs(open_history(history, create=True)) if r.as_of < as_of]
    check_same_horizon(runs, horizon_days, "tier stability")
    if runs:
        check_same_customers(runs[-1], out["customer_id"], as_of, "the score history")
    if rule.rule == "none" or not runs:
        return out
    value_col = cfg.tiers.value_column.format(h=horizon_days)
    frames = []
    for run in runs:
        past = _read_columns(run, ["customer_id", "raw_tier", value_col])
        tier_col = "raw_tier"
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": past["customer_id"],
                    "as_of": run.as_of,
                    "tier": past[tier_col].astype("object"),
                    value_col: past[value_col].astype("float64"),
                }
            )
        )
    frames.append(
        pd.DataFrame(
            {
                "customer_id": out["customer_id"].astype("str"),
                "as_of": as_of,
                "tier": raw.astype("object"),
                value_col: out[value_col].astype("float64"),
            }
        )
    )
    stable = stable_tiers(pd.concat(frames, ignore_index=True), rule, value_col)
    now = stable[stable["as_of"] == as_of].set_index("customer_id")["reported_tier"]
    reported = now.reindex(out["customer_id"].astype("str")).astype("object").to_numpy()
    out["tier"] = pd.array(reported, dtype="str")
    moved = (out["tier"] != raw).fillna(False).to_numpy(dtype=bool)
    if moved.any():
        note = (
            "kept "
            + out.loc[moved, "tier"]
            + " by the stability rule ("
            + rule.rule
            + "); this run alone says "
        ) + raw[moved]
        out["tier_reason"] = out["tier_reason"].astype("str")
        out.loc[moved, "tier_reason"] = note.astype("str")
    return out


def append_run(
    history: Path, scores: pd.DataFrame, contributions_path: Path, manifest: dict[str, Any]
) -> Path:
    """Add a published run to the history: its partition is written beside the others and renamed into place.

    `scores` and the contributions file are the run's published output set; `manifest` its manifest. A run of
    the same as-of already there is replaced whole (idempotent). Returns the partition directory.
    """
    history = open_history(history, create=True)
    from pipelines.locks import held

    # one append at a time: the sweep below removes every staging directory, so it must never see another run's
    # live one (was: two runs appending at once, the later one deleted the other's partition while it was written)
    with held(history / LOCK_FILE, f"the score history {history}"):
        return _append_run(history, scores, contributions_path, manifest)


def _append_run(
    history: Path, scores: pd.DataFrame, contributions_path: Path, manifest: dict[str, Any]
) -> Path:
    list_runs(history)  # a damaged or foreign entry is reported before anything is written
    for old in history.glob(".*"):  # left by a run killed while appending
        if old.is_dir() and (old.name.startswith(".staging-") or ".old." in old.name):
            shutil.rmtree(old, ignore_errors=True)
    as_of = str(manifest["as_of"])
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of):
        raise ValueError(f"manifest as_of {as_of!r} is not a date")
    stage = history / f".staging-{uuid.uuid4().hex}"
    stage.mkdir()
    try:
        from pipelines.outputs import write_scores_parquet

        write_scores_parquet(scores, stage / SCORES_FILE)
        shutil.copyfile(contributions_path, stage / CONTRIB_FILE)
        from pipelines.outputs import churn_contributions_path

        churn = churn_contributions_path(contributions_path)
        if churn.is_file():
            shutil.copyfile(churn, stage / CHURN_FILE)
        from pipelines.outputs import bridge_contributions_path

        # issue 15: the old model on this run's data, when the model changed since the previous run
        bridge = manifest.get("bridge") or None
        for kind, name in (("value", BRIDGE_FILE), ("churn", BRIDGE_CHURN_FILE)):
            source = bridge_contributions_path(contributions_path, kind)
            if bridge and not bridge.get("note") and source.is_file():
                shutil.copyfile(source, stage / name)
        info = {
            "as_of": as_of,
            "run_id": manifest["run_id"],
            "model_version": str(manifest["model_version"]),
            "model_uri": manifest.get("model_uri"),
            "horizon_days": int(manifest["horizon_days"]),
            "customers_total": int(manifest["customers_total"]),
            "tiers": {str(k): int(v) for k, v in scores["tier"].value_counts().sort_index().items()},
            "raw_tiers": (
                {str(k): int(v) for k, v in scores["raw_tier"].value_counts().sort_index().items()}
                if "raw_tier" in scores
                else {}
            ),
            "statuses": {str(k): int(v) for k, v in manifest["statuses"].items()},
            "stability_rule": str(
                manifest.get("run_policy", {}).get("tiers", {}).get("stability", {}).get("rule", "none")
            ),
            # the previous run's model version this run was explained with too, or why it was not
            "bridge": (
                None
                if not bridge
                else {k: bridge[k] for k in ("previous_as_of", "old_model_version", "note") if k in bridge}
            ),
        }
        io.write_json(info, stage / RUN_FILE)
        target = history / f"as_of={as_of}"
        io.replace_path(stage, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return target


def run_history(history: Path, console: Any) -> list[HistoryRun]:
    """`cvp history`: the runs as a table (as-of, model version, horizon, counts by tier and status)."""
    from rich.table import Table

    runs = list_runs(history)
    if not runs:
        console.print(f"the history {history} holds no run yet")
        return runs
    known = ("great", "good", "problem")
    tiers = sorted({t for r in runs for t in r.tiers}, key=lambda t: (known.index(t) if t in known else 3, t))
    statuses = sorted({s for r in runs for s in r.statuses})
    from rich import box

    table = Table(title=f"score history {history}", box=box.SIMPLE_HEAD)
    table.add_column("as-of", no_wrap=True, min_width=10)
    table.add_column("model", no_wrap=True)
    table.add_column("horizon", no_wrap=True, justify="right")
    table.add_column("stability", no_wrap=True)
    for tier in tiers:
        table.add_column(tier, no_wrap=True, justify="right")
    table.add_column("statuses")
    for r in runs:
        table.add_row(
            r.as_of,
            r.model_version,
            f"{r.horizon_days} d",
            r.stability_rule,
            *(f"{r.tiers.get(t, 0):,}" for t in tiers),
            ", ".join(f"{s.replace('_', ' ')} {r.statuses.get(s, 0):,}" for s in statuses),
        )
    console.print(table)
    horizons = sorted({r.horizon_days for r in runs})
    if len(horizons) > 1:
        console.print(
            "[bold yellow]warning:[/] this history mixes horizons ("
            + ", ".join(f"{h} days" for h in horizons)
            + "): runs of different horizons are never compared (stability, transitions and reports refuse)"
        )
    return runs


def transitions_between(
    old: HistoryRun,
    new_scores: pd.DataFrame,
    new_contrib: pd.DataFrame,
    new_horizon: int,
    cfg: Any,
    registry: Any,
    new_churn: pd.DataFrame | None = None,
    bridge: pd.DataFrame | None = None,
    bridge_churn: pd.DataFrame | None = None,
    bridge_version: str | None = None,
) -> pd.DataFrame:
    """`models.transitions.tier_transitions` from a history run to a run's scores (the reported tiers).

    The feature values the scores carry (the columns the tier and flag rules read) make the deltas say
    "rose from 3 to 14"; other features are named with their amount only. With the churn contributions of both
    runs (`new_churn` and the history run's), the churn change is explained too (points of probability).
    When the model changed, `bridge` and `bridge_churn` (the new run's bridge files: the model of version
    `bridge_version` on the new data) split each change into data and model parts, if `bridge_version` is the
    history run's model; otherwise the split is left empty. Refuses runs of different horizons.
    """
    from models.transitions import tier_transitions

    check_same_horizon([old], new_horizon, "the transitions")
    old_scores, old_contrib = read_run(old)
    h = new_horizon
    if bridge_version is None or str(bridge_version) != old.model_version:
        bridge = bridge_churn = None  # a bridge from another model than the old run's splits nothing
    index = "customer_id"
    a = old_scores.set_index(index)
    b = new_scores.assign(customer_id=new_scores[index].astype("str")).set_index(index)
    moves = tier_transitions(
        a,
        b,
        old_contrib,
        new_contrib,
        registry,
        value_column=cfg.tiers.value_column.format(h=h),
        churn_column=f"pred_churn_prob_{h}d",
        currency=cfg.data.currency,
        n_deltas=cfg.explain.n_reasons,
        old_churn_contrib=read_run_churn(old) if new_churn is not None else None,
        new_churn_contrib=new_churn,
        old_features=a,
        new_features=b,
        bridge_value_contrib=bridge,
        bridge_churn_contrib=bridge_churn,
    )
    # what the actions of the report compare too: the flags and the owner of the older run
    for col in ("flags", "account_manager_id"):
        if col in a:
            moves[f"old_{col}"] = a[col].reindex(moves.index).astype("str")
    return moves


def report_history(
    history: Path,
    scores: pd.DataFrame,
    contrib: pd.DataFrame,
    manifest: dict,
    cfg: Any,
    churn: pd.DataFrame | None = None,
    bridge: pd.DataFrame | None = None,
    bridge_churn: pd.DataFrame | None = None,
) -> Any:
    """What `cvp report --history DIR` adds: the transitions from the run before this one, and tier counts over
    the runs up to this one (this run counted from its scores when it is not in the history yet). `churn`: this
    run's churn contributions, for the churn deltas; `bridge`, `bridge_churn`: its bridge files, for the
    data/model split when the model changed (the old version named by the manifest's `bridge`)."""
    from features import feature_registry
    from pipelines.reports.actions import HistoryReport

    runs = list_runs(history)
    horizon = int(manifest.get("horizon_days", cfg.labels.horizon_days))
    as_of = str(manifest.get("as_of") or pd.Timestamp(scores["as_of"].iloc[0]).date().isoformat())
    upto = [r for r in runs if r.as_of <= as_of]
    check_same_horizon(upto, horizon, "the report's history sections")
    previous = previous_run(upto, as_of)
    transitions = None
    if previous is not None:
        check_same_customers(previous, scores["customer_id"], as_of, "the report's history sections")
        registry = feature_registry(cfg.features)
        bridge_info = manifest.get("bridge") or {}
        version = None if bridge_info.get("note") else bridge_info.get("old_model_version")
        transitions = transitions_between(
            previous, scores, contrib, horizon, cfg, registry, churn, bridge, bridge_churn, version
        )
    counts = [{"as_of": r.as_of, "tiers": r.tiers} for r in upto if r.as_of < as_of]
    this = scores["tier"].dropna().astype(str).value_counts().sort_index()
    counts.append({"as_of": as_of, "tiers": {str(k): int(v) for k, v in this.items()}})
    return HistoryReport(
        transitions=transitions,
        previous_as_of=None if previous is None else previous.as_of,
        runs=counts,
        rating_grades=[str(g) for g in cfg.tiers.rating.grades()],
    )
