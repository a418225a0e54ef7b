"""The scoring output set: scores, contributions and manifest of one run, published together, read back together.

Files (stem = the scores file name without its suffix):
- `<stem>.parquet|.csv` (or a Parquet directory for the Spark engine): the scores, schema in `SCORES_SCHEMA`;
- `<stem>.contributions.parquet`: exact value-model contributions per customer and feature;
- `<stem>.churn_contributions.parquet`: churn contributions in probability points, same layout and row order
  (`models.explain.churn_probability_contributions`; each row adds up to the churn probability); the pandas
  engine writes it, a run without it (the Spark engine, older runs) is read without churn contributions;
- `<stem>.profile_inputs.parquet`: the ideal-customer profile's per-customer inputs (`pipelines.profile_inputs`;
  pandas engine; a run without it is profiled from the data);
- `<stem>.manifest.json`: what the run did (counts, model, settings, drift, timings).
Every file carries the run id (a `run_id` column in scores and contributions, `run_id` in the manifest). The scores
are in customer-id order; the per-customer files in chunk order (their bytes follow `--chunk-customers` and the
engine); the means read from them are taken in customer-id order (`models.tier_drivers.id_order`), so they do
not.

Publishing: the three files are written into a staging directory beside the target. A journal
(`.<stem>.publish.json`, written atomically) then names the renames to come, the files are renamed into place
(contributions, scores, manifest) and the journal is removed. A run killed after the journal was written is
completed by whoever reads the set next (`read_output_set` rolls the journal forward; so does the next run), so
what a reader gets is always one run's whole set: the previous one (killed before the journal) or the new one.
The run ids stay as the last line of defence: a set mixed by other means (a disk error between two renames, files
copied by hand) is refused, never read as one run.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from features.validation import StructuralError
from models.reason_text import has_stored_reasons, is_stored_number, with_reason_sentences
from pipelines import staging
from pipelines.contributions_writer import ContributionsWriter  # noqa: F401  (re-exported: its home was here)
from pipelines.csv_cells import restore_formulas
from pipelines.locks import held
from pipelines.output_checks import file_stem
from pipelines.output_digests import (  # noqa: F401  (re-exported: the set's readers' rule, round 31)
    DIGESTS,
    check_digests,
    digest_note,
    digest_problem,
    file_digest,
)
from pipelines.output_twin import scores_of, twin_paths
from pipelines.scores_parquet import insert_columns, write_scores_parquet  # noqa: F401  (re-exported: their home was here)
from pipelines.staging import host as _host

#: Text columns of the scores (ids first: they are read back as text whatever the file format).
SCORES_ID_COLUMNS = ("customer_id", "account_manager_id")
SCORES_TEXT_COLUMNS = (
    *SCORES_ID_COLUMNS,
    "model_version",
    "run_id",
    "status",
    "status_reason",
    "tier",
    "tier_reason",
    "rating",
    "flags",
    "raw_tier",  # the run's own tier beside the reported one (pipelines.history.apply_stability)
    "provisional_tier",  # new customers' tier suggestion (issue 12, pipelines.newcomers)
)
#: Text columns named by prefix (reason sentences, the stored reasons' features and categories; the stored reasons'
#: values, effects and together marks are numbers: `models.reason_text`).
SCORES_TEXT_PREFIXES = ("value_reason_", "churn_reason_", "lookalike_reason_")
SCORES_DATE_COLUMNS = ("as_of",)
#: Columns every scores file has (the prediction columns depend on the horizon: `pred_*_{h}d`, float).
SCORES_REQUIRED = (
    "customer_id",
    "as_of",
    "model_version",
    "run_id",
    "status",
    "status_reason",
    "tier",
    "rating",
    "flags",
    "account_manager_id",
)
PAUSE_ENV = "CVP_TEST_PAUSE_AT"  # test-only: pause at a named point of publishing (see `_pause_at`)


@dataclass(frozen=True)
class ScoresSchema:
    """The scores output schema, declared once: used when writing, reading back and in tests."""

    required: tuple[str, ...] = SCORES_REQUIRED
    ids: tuple[str, ...] = SCORES_ID_COLUMNS
    text: tuple[str, ...] = SCORES_TEXT_COLUMNS
    text_prefixes: tuple[str, ...] = SCORES_TEXT_PREFIXES
    dates: tuple[str, ...] = SCORES_DATE_COLUMNS

    def kind(self, column: str) -> str:
        """ "text", "date" or "number" for a scores column."""
        if column in self.text or (column.startswith(self.text_prefixes) and not is_stored_number(column)):
            return "text"
        if column in self.dates:
            return "date"
        return "number"

    def check_written(self, frame: pd.DataFrame) -> None:
        """Before publishing: every required column is there and every text column holds text (a bug if not)."""
        missing = [c for c in self.required if c not in frame.columns]
        not_text = [
            c
            for c in frame.columns
            if self.kind(str(c)) == "text" and not pd.api.types.is_string_dtype(frame[c].dtype)
        ]
        if missing or not_text:
            raise RuntimeError(f"scores break their schema: missing {missing}, not text {not_text}")

    def conform(self, frame: pd.DataFrame, source: str) -> pd.DataFrame:
        """Coerce a scores frame read back to the schema's types; refuse what is not a scores file."""
        missing = [c for c in self.required if c not in frame.columns]
        if missing or not any(str(c).startswith("pred_") for c in frame.columns):
            raise StructuralError(
                f"{source} is not a scores file written by `cvp score`: columns {missing or ['pred_*']} are "
                f"missing (found: {', '.join(map(str, frame.columns[:8]))}{' ...' if frame.shape[1] > 8 else ''})"
            )
        out = {}
        for c in frame.columns:
            col = frame[c]
            kind = self.kind(str(c))
            if kind == "text":
                # already text (a Parquet read): kept as it is; the round trip through object values below costs
                # a quarter of a second per column at 100k rows (issue 12: `cvp profile` reads the set too)
                out[c] = (
                    col if col.dtype == "str" else col.astype("str").where(col.notna(), None).astype("str")
                )
            elif kind == "date":
                out[c] = pd.to_datetime(col, errors="coerce")
                if out[c].isna().any() and col.notna().any():
                    bad = col[out[c].isna() & col.notna()].head(3).tolist()
                    raise StructuralError(f"{source}: column {c} holds values that are not dates: {bad}")
            else:
                values = pd.to_numeric(col, errors="coerce")
                # only the rows that did not parse are rendered as text (the whole column: ~1 s per column at 250k)
                bad = col[values.isna() & col.notna()]
                bad = bad[bad.astype("str") != ""]
                if len(bad):
                    raise StructuralError(
                        f"{source}: column {c} holds values that are not numbers, e.g. {bad.head(3).tolist()} "
                        f"(rows {bad.index[:3].tolist()})"
                    )
                out[c] = values.astype("float64") if not pd.api.types.is_bool_dtype(col) else col
        return pd.DataFrame(out, index=frame.index)


SCORES_SCHEMA = ScoresSchema()


def output_paths(out: Path) -> dict[str, Path]:
    out = Path(out)
    stem = file_stem(out)  # `--out .` and `--scores /` name no file: refused
    return {
        "scores": out,
        "contributions": out.with_name(f"{stem}.contributions.parquet"),
        "churn_contributions": churn_contributions_path(out.with_name(f"{stem}.contributions.parquet")),
        # issue 15: the previous run's model on this run's data, when the model changed (the data/model split)
        "bridge_contributions": bridge_contributions_path(
            out.with_name(f"{stem}.contributions.parquet"), "value"
        ),
        "bridge_churn_contributions": bridge_contributions_path(
            out.with_name(f"{stem}.contributions.parquet"), "churn"
        ),
        # issue 12: the profile's per-customer inputs (pipelines.profile_inputs), so `cvp profile` skips the data
        "profile_inputs": out.with_name(f"{stem}.profile_inputs.parquet"),
        "manifest": out.with_name(f"{stem}.manifest.json"),
    }


def run_id_for(inputs: Mapping[str, Any]) -> str:
    """A run id that is a digest of everything that decides the outputs (as-of, model, data, settings).

    Two runs on the same inputs produce byte-identical scores (run id included); a different input gives a
    different id, so files of two different runs never pass as one set.
    """
    text = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def remove_abandoned_staging(out: Path) -> list[Path]:
    """Remove the staging directories that killed runs left beside `out` (returns them).

    A staging directory is named `.<out>.<run>.<host>-<pid>.<random>.run`; it is abandoned when its host is this
    machine and no process `pid` runs here. Directories of other machines (a shared file system) and of live
    processes are kept, as are names of another form. A publish interrupted after its journal is completed
    first, since the journal names files inside a staging directory."""
    import re

    out = Path(out)
    if not out.parent.is_dir():
        return []
    try:
        complete_interrupted_publish(out)
    except StructuralError:  # its staging files stay: this run's publish replaces the whole set anyway
        return []
    pattern = rf"^\.{re.escape(out.name)}\.[^.]+\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)\.[0-9a-f]{{8}}\.run$"
    return staging.remove_dead(out.parent, pattern, dirs_only=True)


def staging_dir(out: Path, run_id: str) -> Path:
    """A fresh directory beside the target (same file system, so publishing is renames), after removing those
    that killed runs left there (`remove_abandoned_staging`)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned_staging(out)
    path = out.parent / f".{out.name}.{run_id}.{_host()}-{os.getpid()}.{uuid.uuid4().hex[:8]}.run"
    path.mkdir()
    return path


def _pause_at(point: str) -> None:
    """Test-only fault-injection hook: with CVP_TEST_PAUSE_AT=<point>, say so on stderr and wait to be killed."""
    if os.environ.get(PAUSE_ENV) == point:
        print(f"CVP_PAUSED {point}", file=sys.stderr, flush=True)
        time.sleep(3600)


PUBLISH_ORDER = (
    "contributions",
    "churn_contributions",
    "bridge_contributions",
    "bridge_churn_contributions",
    "profile_inputs",
    "scores",
    "manifest",
)


def journal_path(targets: Mapping[str, Path]) -> Path:
    """The publishing journal beside the scores (hidden; exists only while a set is being published)."""
    return staging.journal_for(Path(targets["scores"]))


def lock_path(targets: Mapping[str, Path]) -> Path:
    """The lock of a set's place (`pipelines.locks`), beside the scores: `.<stem>.publish.lock`, kept."""
    return staging.journal_lock(journal_path(targets))


def publish(
    staged: Mapping[str, Path],
    targets: Mapping[str, Path],
    rejects: staging.StagedDirectory | None = None,
) -> tuple[Path | None, str | None]:
    """Rename the staged files into place as one set (`pipelines.staging.publish_files`): journal first, then
    the rejects directory (`rejects`, staged at loading: `--rejects DIR`), contributions, scores, manifest.

    Holds the set's lock (and the rejects directory's): two runs publishing into one `--out` at once take turns,
    each set whole (the last one stays), instead of one run's renames landing between the other's (was: new
    contributions beside the other run's scores, and the slower run's `unexpected FileNotFoundError` on the
    journal the other removed). Was, for the rejects: published at loading, so a run stopped or killed after it
    left the new rejects beside the previous run's scores. The scores file of the other format is judged under the
    lock only (`staging.earlier_twin` with `output_twin.scores_of`: the replaced set's removed, another left and
    said in the staged manifest's `warnings`), as another run may publish there until then (round 28, was: decided before it, so a set
    published meanwhile in the other format stayed beside this one's manifest, not a word; round 29: no look
    before the lock). Returns (the file removed with the renames, the warning of a file left beside the set: the
    one in the published manifest, for the caller to print)."""
    import contextlib

    _pause_at("before_publish")
    journal = journal_path(targets)
    with held(lock_path(targets), f"the output set of {targets['scores']}"), contextlib.ExitStack() as more:
        moves = [(k, staged[k], targets[k]) for k in PUBLISH_ORDER if k in staged and staged[k].exists()]
        # a run without contributions must not leave an older run's beside it, nor a run in one format the
        # scores of an earlier set in the other (they share its manifest and contributions)
        stale = [targets[k] for k in PUBLISH_ORDER if k not in {m[0] for m in moves}]
        # (`scores.csv` over a set published as `scores.parquet`: round 27, was: the older run's `scores.parquet`
        # left beside the new manifest, read by a batch job as the new scores, and `cvp report --scores
        # scores.parquet` said "a scoring run was interrupted while publishing: rerun `cvp score`", which left it)
        # (the replaced set's own scores only, `output_twin.scores_of`; round 27 review)
        twin = staging.Twin(scores_of)  # decided under the lock, once (round 29)
        gone = staging.decided_under_lock(twin, *twin_paths(targets), staged["manifest"])
        stale += [gone] if gone is not None else []
        if rejects is not None:
            more.enter_context(held(rejects.lock, f"the directory {rejects.target}"))
            rejects.remove_old()
            rejects.seal(journal)
            moves.insert(0, ("rejects", rejects.stage, rejects.target))
        locks = [] if rejects is None else [rejects.lock]
        staging.publish_files(moves, stale, journal, lambda name: _pause_at(f"after_{name}"), locks)
    return twin.removed, twin.left_now


def complete_interrupted_publish(scores_path: Path) -> bool:
    """Finish the publishing of a set whose run was killed half-way (True if there was one to finish). Under the
    set's lock: a journal of a run still publishing is that run's to finish (was: rolled forward by the next
    run's start, the first run then failing on its own journal)."""
    try:
        return staging.complete_interrupted(
            journal_path(output_paths(scores_path)), f"the output set of {scores_path}"
        )
    except StructuralError as exc:
        raise StructuralError(f"{exc} (`cvp score`)") from exc


def _read_scores(path: Path, columns: Iterable[str] | None = None) -> pd.DataFrame:
    # `columns` (issue 12, `cvp profile`): only those scores columns, with the required ones and the predictions
    wanted = None if columns is None else {*columns, *SCORES_REQUIRED}
    prefixes = ("pred_", *(w[:-1] for w in wanted or () if w.endswith("*")))

    def keep(c: str) -> bool:
        return wanted is None or c in wanted or c.startswith(prefixes)

    try:
        if path.suffix == ".csv":
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8", usecols=keep
            )
            for col in frame.columns:  # the `'` `write_frame` put before `-C1`, `@C1` taken off (round 16)
                frame[col] = restore_formulas(frame[col])
            return frame
        if wanted is None:
            return pd.read_parquet(path)
        return pd.read_parquet(path, columns=[c for c in pq.ParquetDataset(path).schema.names if keep(c)])
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        kind = "CSV" if path.suffix == ".csv" else "Parquet"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise StructuralError(f"{path} is not a readable {kind} scores file: {first}") from exc
    except Exception as exc:  # pyarrow raises its own types for garbage bytes
        raise StructuralError(f"{path} is not a readable scores file: {type(exc).__name__}") from exc


@dataclass
class OutputSet:
    scores: pd.DataFrame
    contributions: pd.DataFrame  # index customer_id
    manifest: dict[str, Any]
    run_id: str
    churn_contributions: pd.DataFrame | None = None  # index customer_id; None when the run wrote none
    #: issue 15: the previous run's model on this run's data (value, churn), when the model changed; else None
    bridge_contributions: pd.DataFrame | None = None
    bridge_churn_contributions: pd.DataFrame | None = None
    #: the run's profile inputs (`pipelines.profile_inputs`), read when asked for and the run wrote them
    profile_inputs: pd.DataFrame | None = None
    #: what the reader is to say of the set (`digest_note`: a manifest without digests), None when nothing
    note: str | None = None


def _run_ids(values: Iterable[Any]) -> set[str]:
    return {str(v) for v in values if v is not None and not (isinstance(v, float) and v != v)}


def other_runs(frame: pd.DataFrame, run_id: str) -> set[str]:
    """The runs a per-customer file (`frame`: its run_id column at least) comes from when not run `run_id` alone
    ("(none)": no run_id column); empty when it is that run's or has no row (`read_run_frame`, the history's)."""
    found = (_run_ids(frame["run_id"].unique()) if "run_id" in frame else {"(none)"}) if len(frame) else set()
    return found if found and found != {run_id} else set()


def set_digests(staged: Mapping[str, Path]) -> dict[str, str]:
    """The digests of a staged set's files (the manifest's `DIGESTS`), taken once they are written, just before
    the set is published (`pipelines.engines.run.run_score`); the manifest and the rejects are not in them."""
    kinds = [k for k in PUBLISH_ORDER if k != "manifest" and k in staged and Path(staged[k]).exists()]
    return {k: file_digest(staged[k]) for k in kinds}


def read_output_set(
    scores_path: Path,
    columns: Iterable[str] | None = None,
    with_churn: bool = True,
    with_profile_inputs: bool = False,
) -> OutputSet:
    """Scores + contributions + manifest of one run, checked to be one run; ids as text whatever the format.

    The stored reasons come back as the sentences a person reads (`models.reason_text.with_reason_sentences`:
    `{kind}_reason_k` and `{kind}_reason_feature_k`, as `cvp score` wrote them before they were stored compactly).

    `columns`: read only these scores columns (a name ending in `*`: every column it begins), plus the required
    ones and the predictions; None: all. `with_churn=False` (issue 12, `cvp profile`): the churn and bridge
    contributions are not read (None). `with_profile_inputs` (`cvp profile`): the run's profile inputs too, under
    the same lock (was: read after it, so a run publishing into the same `--out` in between stopped the profile
    with "comes from another run ... rerun `cvp score`", the set it had read whole)."""
    scores_path = Path(scores_path)
    complete_interrupted_publish(scores_path)
    # shared: other readers read along, a run publishing over this set waits until the set is read
    with held(lock_path(output_paths(scores_path)), f"the output set of {scores_path}", shared=True):
        verified: set[str] = set()
        got = _read_output_set(scores_path, columns, with_churn, verified)
        paths = output_paths(scores_path)
        path = paths["profile_inputs"]
        if with_profile_inputs and got.manifest.get("profile_inputs") and path.exists():
            got.profile_inputs = read_profile_inputs(path, got.run_id)
        # the files read are the run's as published (round 31, was: a tier or prediction changed by hand, a row
        # deleted, rendered as the run's with exit 0); after the run ids, whose message says a mixed set
        kinds = [k for k in ("scores", "contributions") if k not in verified]
        kinds += [k for k in paths if "contributions" in k and k != "contributions"] if with_churn else []
        # the profile inputs when there: a run without them is profiled from `--data` (`pipelines.profile`)
        # and when the manifest's digests list them, a deleted file then said missing (was: "an older cvp score")
        listed = isinstance(got.manifest.get(DIGESTS), dict) and "profile_inputs" in got.manifest[DIGESTS]
        kinds += ["profile_inputs"] if with_profile_inputs and (path.exists() or listed) else []
        check_digests(paths, kinds, got.manifest)
        got.note = digest_note(got.manifest, scores_path)
        return got


def _scores_verified(scores_path: Path, manifest: Mapping[str, Any]) -> bool:
    """The scores' digest checked before they are parsed (was: an edited 1 GB set parsed for ~10 s, then refused):
    True when they are the run's; exit 2 when they differ and hold only this run's ids (read alone, cheap). A file
    of another run, or one whose `run_id` column cannot be read alone, is left to the whole read (False), whose
    messages say a mixed set or an unreadable file."""
    if digest_problem(scores_path, "scores", manifest) is None:
        return isinstance(manifest.get(DIGESTS), dict)
    try:
        if scores_path.suffix == ".csv":
            ids = pd.read_csv(scores_path, usecols=["run_id"], dtype=str, encoding="utf-8")["run_id"]
        else:
            ids = pd.read_parquet(scores_path, columns=["run_id"])["run_id"]
    except Exception:  # garbage bytes, no run_id column: the whole read says what is wrong
        return False
    if _run_ids(ids.unique()) == {str(manifest["run_id"])}:
        check_digests(output_paths(scores_path), ["scores"], manifest)
    return False


def _read_output_set(
    scores_path: Path, columns: Iterable[str] | None, with_churn: bool, verified: set[str]
) -> OutputSet:
    if not scores_path.exists():
        raise StructuralError(f"scores file {scores_path} does not exist (run `cvp score` first)")
    paths = output_paths(scores_path)
    if not paths["manifest"].exists():
        raise StructuralError(
            f"{paths['manifest'].name} is missing beside {scores_path.name}: a scores file is read only with "
            "the manifest of its run (rerun `cvp score`)"
        )
    try:
        manifest = json.loads(paths["manifest"].read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StructuralError(f"{paths['manifest']} is not a readable manifest: {exc}") from exc
    if not isinstance(manifest, dict) or "run_id" not in manifest:
        raise StructuralError(
            f"{paths['manifest'].name} names no run_id: written by an older `cvp score`; rerun it"
        )
    if _scores_verified(scores_path, manifest):
        verified.add("scores")
    scores = SCORES_SCHEMA.conform(_read_scores(scores_path, columns), str(scores_path))
    if has_stored_reasons(scores.columns):  # issue 14: stored compactly, worded here for the person reading
        scores = with_reason_sentences(scores, reason_currency(manifest, str(paths["manifest"])))
    if not paths["contributions"].exists():
        raise StructuralError(
            f"{paths['contributions'].name} is missing beside {scores_path.name}: rerun `cvp score`"
        )
    try:
        contrib = pd.read_parquet(paths["contributions"])
    except Exception as exc:
        raise StructuralError(
            f"{paths['contributions']} is not a readable contributions file: {exc}"
        ) from exc
    run_id = str(manifest["run_id"])
    found = {
        "scores": _run_ids(scores["run_id"].unique()),
        "contributions": _run_ids(contrib["run_id"].unique()) if "run_id" in contrib else {"(none)"},
    }
    mixed = {
        k: v for k, v in found.items() if v != {run_id} and not (k == "contributions" and not len(contrib))
    }
    if mixed:
        detail = "; ".join(f"{k}: {', '.join(sorted(v))}" for k, v in mixed.items())
        raise StructuralError(
            f"the files beside {scores_path.name} come from different runs (manifest: {run_id}; {detail}); "
            "a scoring run was interrupted while publishing: rerun `cvp score`"
        )
    contrib = by_customer(contrib.drop(columns=["run_id"]))
    churn = bridge = bridge_churn = None
    if with_churn:
        churn = read_churn_contributions(paths["churn_contributions"], run_id)  # issue 15
        bridge = read_churn_contributions(paths["bridge_contributions"], run_id)
        bridge_churn = read_churn_contributions(paths["bridge_churn_contributions"], run_id)
    return OutputSet(scores, contrib, manifest, run_id, churn, bridge, bridge_churn)


def by_customer(frame: pd.DataFrame) -> pd.DataFrame:
    """A per-customer file's rows indexed by customer id (as text), in the file's order. Its rows are written in
    chunk order, a chunk after another as scored (the chunks a keyed hash of the ids: their number follows
    `--chunk-customers`, and the Spark engine's buckets finish in any order): the means over customers read from
    them are taken in id order where they are taken (`models.tier_drivers.id_order`: `cvp profile`'s SHAP
    drivers, the report's tier drivers and separators), so they are the same whatever the chunking; the whole
    file is not sorted on every read (was, seam round 15: a sorted copy of each file read)."""
    frame["customer_id"] = frame["customer_id"].astype("str")
    return frame.set_index("customer_id")


def reason_currency(manifest: dict[str, Any], source: str) -> str:
    """The currency a run's reasons are said in (`reasons.currency` in its manifest: the run's `data.currency`)."""
    currency = (manifest.get("reasons") or {}).get("currency")
    if not isinstance(currency, str):
        raise StructuralError(
            f"{source} names no reasons.currency: written by an older `cvp score`; rerun it"
        )
    return currency


# --- churn contributions (issue 15): written beside the value contributions, read back with the set ---------


def churn_contributions_path(contributions_path: Path) -> Path:
    """`<stem>.churn_contributions.parquet` beside `<stem>.contributions.parquet` (staged or published)."""
    path = Path(contributions_path)
    suffix = ".contributions.parquet"
    stem = path.name[: -len(suffix)] if path.name.endswith(suffix) else path.stem
    return path.with_name(f"{stem}.churn_contributions.parquet")


def bridge_contributions_path(contributions_path: Path, kind: str) -> Path:
    """`<stem>.bridge_contributions.parquet` (value) or `<stem>.bridge_churn_contributions.parquet` (churn) beside
    `<stem>.contributions.parquet`: the previous run's model explaining this run's data (issue 15)."""
    path = Path(contributions_path)
    suffix = ".contributions.parquet"
    stem = path.name[: -len(suffix)] if path.name.endswith(suffix) else path.stem
    middle = {"value": "bridge_contributions", "churn": "bridge_churn_contributions"}[kind]
    return path.with_name(f"{stem}.{middle}.parquet")


def read_run_frame(path: Path, run_id: str | None, what: str, hint: str) -> pd.DataFrame:
    """A per-customer file of one run (index customer_id as text, its run_id column dropped); StructuralError when
    it is unreadable, has no customer ids or comes from another run than `run_id` (None: any run); `hint` says
    what to do then."""
    path = Path(path)
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises its own types for damaged files
        raise StructuralError(f"{path} is not a readable {what} file: {exc}") from exc
    if "customer_id" not in frame.columns:
        raise StructuralError(f"{path} is not a {what} file: it has no customer_id column")
    if run_id is not None:
        found = other_runs(frame, run_id)
        if found:
            raise StructuralError(
                f"{path.name} comes from another run ({', '.join(sorted(found))}; expected {run_id}): {hint}"
            )
    return by_customer(frame.drop(columns=[c for c in ("run_id",) if c in frame]))


def read_profile_inputs(path: Path, run_id: str) -> pd.DataFrame:
    """The profile inputs of run `run_id` (`pipelines.profile_inputs`; index customer_id as text);
    StructuralError when unreadable or of another run."""
    return read_run_frame(path, run_id, "profile inputs", "rerun `cvp score`")


def read_churn_contributions(path: Path, run_id: str | None) -> pd.DataFrame | None:
    """The churn contributions of a run (index customer_id, ids as text), None when the run wrote none; files
    of another run than `run_id` are refused like the rest of the set."""
    if not Path(path).exists():
        return None
    hint = "a scoring run was interrupted while publishing: rerun `cvp score`"
    return read_run_frame(path, run_id, "churn contributions", hint)
