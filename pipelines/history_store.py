"""The score history's storage: open (or start) a history directory, list its runs, read a run (appending one is
`pipelines.history_append`).

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
    DIR/as_of=YYYY-MM-DD/run.json               as-of, run id, model version, horizon, currency, counts by tier
                                                and status, its files' sha256

One partition per as-of, written into a staging directory inside DIR and renamed into place
(`pipelines.io.replace_path`): a rerun of the same as-of replaces its partition whole, so appending is idempotent,
and a reader sees the old partition or the new one, never a mix. Hidden entries (staging directories of a killed
run, an old partition being replaced) are never read and are removed by the next append.

Comparing runs (stable tiers, transitions, the report's history sections) is `pipelines.history`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from features.validation import StructuralError
from pipelines.output_checks import HISTORY_MARKER, file_in_the_way
from pipelines.tracking import run_of_uri

__all__ = [
    "HISTORY_MARKER",
    "HistoryRun",
    "check_stabilised_with",
    "list_runs",
    "model_labels",
    "open_history",
    "previous_run",
    "read_bridge",
    "read_columns",
    "scores_columns",
    "stability_rules",
    "HISTORY_RULE",
    "PRODUCTION",
    "Reader",
    "check_keeps_production",
    "not_the_champion",
    "off_production",
    "reads",
    "read_run",
    "read_run_churn",
]

SCORES_FILE = "scores.parquet"
CONTRIB_FILE = "contributions.parquet"
CHURN_FILE = "churn_contributions.parquet"  # optional: older runs have none
BRIDGE_FILE = "bridge_contributions.parquet"  # optional: only when the model changed (issue 15)
BRIDGE_CHURN_FILE = "bridge_churn_contributions.parquet"
RUN_FILE = "run.json"
#: the files a partition copies from the run's published set: name here -> kind there (`outputs.output_paths`)
COPIED = {
    CONTRIB_FILE: "contributions",
    CHURN_FILE: "churn_contributions",
    BRIDGE_FILE: "bridge_contributions",
    BRIDGE_CHURN_FILE: "bridge_churn_contributions",
}
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
    #: the tier, rating and flag rules the run applied (`tiers:` without `stability`); None in runs added before
    #: run.json recorded them
    tier_rules: dict[str, Any] | None = None
    #: the MLflow run that trained the run's model: with the version, which model it was (another registry, or a
    #: store started again, numbers its versions from 1 again); None in runs added before run.json recorded it
    model_run_id: str | None = None
    #: the currency of its amounts (values, contributions); None in runs added before run.json recorded it
    currency: str | None = None
    #: whose data it scored, a sample of its orders (`pipelines.history_identity.base_signature`); None in runs
    #: added before run.json recorded it
    base_signature: dict[str, str] | None = None
    #: the run's data ended long before its as-of (`pipelines.data_age`): what its manifest's `stale_data` said;
    #: such a run is kept and shown but no stable tier reads it (`tier_runs`)
    stale_data: str | None = None
    #: tables whose export stopped while the orders ran on (`pipelines.data_age.stopped_tables`): what its
    #: manifest's `stopped_tables` said; such a run, like a stale one, is kept and shown but read by no stable tier
    stopped_tables: tuple[str, ...] = ()
    #: the run's whole stability rule (`tiers.stability`: margin, runs); None in runs added before run.json
    #: recorded it (`stability_rule` names the rule)
    stability: dict[str, Any] | None = None
    #: the champion's version when the run scored and the aliases its model carried (the manifest's
    #: `champion_version`, `model_aliases`): a challenger's run is marked (`phrases.scored_by`); None in runs added
    #: before run.json recorded them
    champion_version: str | None = None
    model_aliases: tuple[str, ...] | None = None
    #: each file's sha256 as appended (`pipelines.history_digests`); None in runs added before round 32
    file_digests: dict[str, str] | None = None

    @property
    def reader(self) -> Reader:
        """The run as a reader of the history (`reads`), or as a run read."""
        return Reader(self.model_version, self.champion_version, self.model_run_id)


#: The rule a run's `stability_runs` was computed by (the manifest's `history_rule`): 2 since round 29, the runs
#: its reader reads (`tier_runs`); absent in manifests written before, when every run was read but those of stale
#: data or a stopped table (`check_stabilised_with` accepts that set for them)
HISTORY_RULE = 2


@dataclass(frozen=True)
class Reader:
    """Who reads a history: the model of a run scoring now, reported, or in the history (its version, the
    champion's version when it loaded its model, "" none and None not known, and its training run)."""

    model_version: str | None = None
    champion_version: str | None = None
    model_run_id: str | None = None

    @classmethod
    def of(cls, manifest: dict[str, Any]) -> Reader:
        """The reader of a run's manifest (one written before it recorded its champion: production's)."""
        version = manifest.get("model_version")
        return cls(
            None if version is None else str(version),
            manifest.get("champion_version"),
            manifest.get("model_run_id"),
        )

    @property
    def production(self) -> bool:
        """Its model was the champion of its time (or none was, or it is not known): production's line."""
        return not not_the_champion(self.model_version, self.champion_version)


#: A reader not known to be other than production's (a caller that does not name its run's model)
PRODUCTION = Reader()


def reads(reader: Reader, scored: Reader) -> bool:
    """Whether a run of `reader` reads a run scored by `scored` (the one rule of every history reader: its stable
    tiers, its moves since the last run, the bridge of its model change, `cvp report --history`). A run of the
    champion of its time reads the runs of the champion of theirs (`off_production`, round 29, was: a challenger's
    run read as production's); a run of a model that was not the champion reads the runs of its own model (the
    same training run, else the same version: `one_model`), never production's (review of round 29, was: none at
    all, its own history unread)."""
    if reader.production:
        return scored.production
    return one_model(reader.model_version, reader.model_run_id, scored.model_version, scored.model_run_id)


def tier_runs(runs: Sequence[HistoryRun], reader: Reader) -> list[HistoryRun]:
    """The runs a later run of `reader` reads (`reads`): all of its line but those whose data was stale (their
    tiers read days without data as quiet customers: held over, a stale run's `lapsed` or `problem` would linger
    in later runs) or had a table whose export stopped (its customers read without its rows since: round 25, was:
    read, the demo's run with its tickets cut half a year early held 2 great customers good in the next run)."""
    return [r for r in runs if not r.stale_data and not r.stopped_tables and reads(reader, r.reader)]


def off_production(run: HistoryRun) -> bool:
    """The run was scored by a model that was not the champion when a champion existed (`cvp score --model
    ...@challenger` or `--model-version N`: its run.json's `champion_version` another version): its tiers are
    not production's, so no run of production's reads them (round 29, was: the next champion run's stable tiers
    held the challenger's tiers and its moves were counted from them). A run scored while no model was champion
    (`champion_version` "", the demo's first model left a challenger) is the only line there is: production's.
    Runs that did not record it, or named their model otherwise than by its version (a `runs:/` URI, before such
    models carried their version): production's, as before."""
    return not run.reader.production


def not_the_champion(version: str | None, champion: str | None) -> bool:
    """Model version `version` was not the champion `champion` (the registry's when the run loaded its model;
    "" none, None not known) of its time: `off_production`'s rule, for a run in the history or one scoring now."""
    version = str(version or "")
    return bool(champion) and version.isdigit() and str(champion) != version


def check_keeps_production(
    history: Path, runs: Sequence[HistoryRun] | None, as_of: str, reader: Reader, added: bool = False
) -> None:
    """Refuse (exit 2) a run of a model that is not the champion (`cvp score --model-version N`, `--model
    ...@challenger`) replacing the history's run of the same as-of that the champion of its time scored: the
    history would lose production's run (was: replaced, exit 0, the nightly run's tiers gone from the history).
    Called before the data is read (`runs` None: listed here, when `history` is one) and again under the
    history's lock as the run is appended (`added`; review of round 29: production's run may come meanwhile)."""
    if reader.production:
        return
    if runs is None:
        runs = list_runs(history) if (Path(history) / HISTORY_MARKER).is_file() else []
    there = [r for r in runs if r.as_of == as_of and not off_production(r)]
    if there:
        raise StructuralError(
            f"{'not added to the score history: ' if added else ''}--history {history} holds the run as of "
            f"{as_of} scored by model version {there[0].model_version}, production's then; this run's model, "
            f"version {reader.model_version}, is not the champion (version {reader.champion_version}): added, it "
            "would replace production's run. Score it into another --history (or without one), or promote it first "
            f"(`cvp models promote {reader.model_version}`)"
        )


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
            tier_rules=info.get("tier_rules"),
            model_run_id=info.get("model_run_id") or run_of_uri(str(info["model_version"])),
            currency=info.get("currency"),
            base_signature=info.get("base_signature"),
            stale_data=info.get("stale_data"),
            stopped_tables=tuple(info.get("stopped_tables") or ()),
            stability=info.get("stability"),
            champion_version=info.get("champion_version"),
            model_aliases=None if info.get("model_aliases") is None else tuple(info["model_aliases"]),
            file_digests=info.get("file_digests") if isinstance(info.get("file_digests"), dict) else None,
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


def read_run(run: HistoryRun) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scores, contributions indexed by customer_id) of one run, ids as text."""
    from pipelines.outputs import SCORES_SCHEMA, by_customer

    _check(run, SCORES_FILE, CONTRIB_FILE)
    try:
        scores = pd.read_parquet(run.path / SCORES_FILE)
        contrib = pd.read_parquet(run.path / CONTRIB_FILE)
    except Exception as exc:  # pyarrow raises its own types for damaged files
        raise StructuralError(f"history run {run.as_of}: its files are not readable ({exc})") from exc
    scores = SCORES_SCHEMA.conform(scores, str(run.path / SCORES_FILE))
    scores["customer_id"] = scores["customer_id"].astype("str")
    if "customer_id" in contrib.columns:
        contrib = by_customer(contrib.drop(columns=[c for c in ("run_id",) if c in contrib]))
    return scores, contrib


def read_run_churn(run: HistoryRun) -> pd.DataFrame | None:
    """The churn contributions of one run (probability points, index customer_id), None when it has none."""
    from pipelines.outputs import read_churn_contributions

    _check(run, CHURN_FILE)
    return read_churn_contributions(run.path / CHURN_FILE, run.run_id)


def read_columns(run: HistoryRun, columns: list[str]) -> pd.DataFrame:
    """Only `columns` of a run's scores (the tier history needs three of them, not the reason sentences)."""
    _check(run, SCORES_FILE)
    try:
        scores = pd.read_parquet(run.path / SCORES_FILE, columns=columns)
    except Exception as exc:  # a damaged file, or one without the columns
        raise StructuralError(
            f"history run {run.as_of}: cannot read {columns} from its scores ({exc})"
        ) from exc
    scores["customer_id"] = scores["customer_id"].astype("str")
    return scores


def scores_columns(run: HistoryRun) -> set[str] | None:
    """The columns of a run's scores (its file's schema, no rows read); None when the file cannot be read."""
    import pyarrow.parquet as pq

    try:
        return set(pq.read_schema(run.path / SCORES_FILE).names)
    except Exception:  # a damaged or missing file: the caller assumes nothing of it
        return None


def same_model(run: HistoryRun, version: str, model_run_id: str | None) -> bool:
    """Whether `run` was scored with the model of `version` trained by MLflow run `model_run_id`. When both runs
    recorded their training run, it decides: one training run logs one model, whatever name a run gave it (v1 of
    another registry is another model; a run scored by `--model runs:/<id>/model`, whose version read that URI
    before models named by their run carried their version, is that run's v1: was read as a model change, the
    change said unsplittable and every manager page saying the model was retrained). Else the version number."""
    return one_model(run.model_version, run.model_run_id, version, model_run_id)


def one_model(version: Any, run_id: str | None, other_version: Any, other_run_id: str | None) -> bool:
    """Whether model `version` trained by MLflow run `run_id` is model `other_version` trained by `other_run_id`:
    the training runs decide when both are known (one training run logs one model), else the version numbers. The
    one rule of `same_model` (the history's runs) and of `tracking_card.model_card` (the champion now)."""
    if run_id is not None and other_run_id is not None:
        return run_id == other_run_id
    return str(version) == str(other_version)


def model_labels(runs: Sequence[HistoryRun]) -> list[str]:
    """How `cvp history` names each run's model: one model, one name. Its version, the version number a run of the
    same training run recorded when this one recorded its run's URI (`runs:/<id>/model`, before such models carried
    their version), else `run <id>` (was: the 50-character URI, every other column of the table cut to `36…`);
    `(run <id>)` only when one version number was trained by two training runs (another registry,
    a store started again), never for a run that did not record its training run (was: `1` beside
    `1 (run 9d76ddef)` for one model when older runs had no `model_run_id`, and the URI beside `1`)."""
    numbered = {
        r.model_run_id: r.model_version for r in runs if r.model_run_id and not run_of_uri(r.model_version)
    }
    names = [
        numbered.get(found, f"run {found[:8]}") if (found := run_of_uri(r.model_version)) else r.model_version
        for r in runs
    ]
    trained_by: dict[str, set[str]] = {}
    for name, r in zip(names, runs, strict=True):
        if r.model_run_id:
            trained_by.setdefault(name, set()).add(r.model_run_id)
    return [
        f"{name} (run {r.model_run_id[:8]})" if r.model_run_id and len(trained_by[name]) > 1 else name
        for name, r in zip(names, runs, strict=True)
    ]


def previous_run(runs: Sequence[HistoryRun], as_of: str) -> HistoryRun | None:
    """The latest run strictly before `as_of` (YYYY-MM-DD), or None."""
    earlier = [r for r in runs if r.as_of < as_of]
    return earlier[-1] if earlier else None


def read_bridge(run: HistoryRun) -> tuple[pd.DataFrame | None, pd.DataFrame | None, str | None]:
    """A history run's bridge: (value, churn contributions of the previous run's model on its data, that
    model's version); (None, None, None) when the run has none."""
    from pipelines.outputs import read_churn_contributions

    try:
        info = json.loads((run.path / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StructuralError(f"history partition {run.path}: {RUN_FILE} is not readable ({exc!r})") from exc
    version = (info.get("bridge") or {}).get("old_model_version")
    _check(run, BRIDGE_FILE, BRIDGE_CHURN_FILE)
    value = read_churn_contributions(run.path / BRIDGE_FILE, run.run_id)
    if version is None or value is None:
        return None, None, None
    return value, read_churn_contributions(run.path / BRIDGE_CHURN_FILE, run.run_id), str(version)


def _check(run: HistoryRun, *names: str) -> None:
    """Each of the run's files `names` is the file appended, or exit 2 (`history_digests.check_run_files`, the one
    loop of the partition's checks)."""
    from pipelines.history_digests import check_run_files

    check_run_files(run, names)


def tier_rules(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The tier, rating and flag rules a run applied, from its manifest's `run_policy` (or a manifest-like
    `{"run_policy": ...}`); the stability rule is recorded on its own. None when the manifest does not hold them."""
    rules = (manifest.get("run_policy") or {}).get("tiers")
    return None if not isinstance(rules, dict) else {k: v for k, v in rules.items() if k != "stability"}


def stability_rules(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The stability rule a run's reported tiers were held by (`tiers.stability`), from its manifest's
    `run_policy` as `tier_rules`; None when the manifest does not hold it."""
    rules = ((manifest.get("run_policy") or {}).get("tiers") or {}).get("stability")
    return rules if isinstance(rules, dict) else None


def check_stabilised_with(manifest: dict, runs: Sequence[HistoryRun], as_of: str) -> None:
    """Refuse (exit 2) to report with a history a run whose tiers were not held by the stability rule over that
    history's earlier runs (scored without `--history`, or with another history): its transitions would count
    as moves what the rule holds (was: 94 customers "changed tier" on the team page where the history's own run of
    the same as-of had 55). Manifests written before runs recorded their history are not judged; those written
    before `HISTORY_RULE` (no `history_rule`) by the rule of their time, every run read but those of stale data or
    a stopped table (review of round 29, was: a run held over a challenger's run then refused, "held over other
    runs")."""
    if "stability_runs" not in manifest:
        return
    rule = ((manifest.get("run_policy") or {}).get("tiers") or {}).get("stability", {}).get("rule", "none")
    if manifest.get("history_rule") == HISTORY_RULE:
        read = tier_runs(runs, Reader.of(manifest))
    else:  # the rule before round 29: whoever scored a run, it was read
        read = [r for r in runs if not r.stale_data and not r.stopped_tables]
    before = {r.as_of: r.run_id for r in read if r.as_of < as_of}
    used = manifest["stability_runs"]
    if rule == "none" or not before or used == before:
        return
    changed = sorted(set(used or {}) ^ set(before)) or [a for a in before if (used or {}).get(a) != before[a]]
    if used is None:
        said = "were scored without --history"
    else:
        said = (
            f"were held by the stability rule over other runs than this history holds before {as_of} "
            f"({', '.join(changed)})"
        )
    error = StructuralError(
        f"the scores as of {as_of} {said}: their tiers are not the ones this history's stability rule "
        f"({rule}) reports, so the moves between runs would be miscounted. Report the scores `cvp score --history` "
        "wrote into this history, or score again with this --history"
    )
    error.changed_runs = changed  # type: ignore[attr-defined]  # the append's stop names them (`history_append`)
    raise error
