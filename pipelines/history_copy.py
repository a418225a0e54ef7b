"""The history append's check of the files it copied from the run's published output set into a partition
(`pipelines.history_append.append_run`): they are the run's own."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from features.validation import StructuralError


def check_copied_files(
    stage: Path, manifest: Mapping[str, Any], contributions_path: Path, copied: Mapping[str, str]
) -> None:
    """Refuse (exit 2) a partition whose per-customer files, copied from the run's published set, are another
    run's: a second `cvp score` publishing into the same `--out` between this run's publishing and its append
    (round 30, was: this run's scores and run.json beside the other run's contributions, exit 0). `copied`: each
    copied file's name in the partition -> its file's kind in the set (`pipelines.outputs.output_paths`). Then
    each is the file the run published, by the digest its manifest records (`outputs.digest_problem`, the readers'
    rule; round 31, was: a contributions file edited by hand between the publishing and the append copied as the
    run's)."""
    import pyarrow.parquet as pq

    from pipelines.outputs import (  # the readers' rules (`read_output_set`)
        DIGESTS,
        digest_problem,
        other_runs,
    )

    run_id = str(manifest["run_id"])
    for name in copied:
        if not (
            stage / name
        ).is_file():  # a run without churn contributions or a bridge: as the readers take it
            continue
        try:
            kept = [c for c in ("run_id", "customer_id") if c in pq.read_schema(stage / name).names]
            frame = pd.read_parquet(stage / name, columns=kept[:1])
        except Exception:  # a damaged file: the readers of the partition say so
            continue
        found = other_runs(frame, run_id)
        if found:
            raise StructuralError(
                f"not added to the score history: {contributions_path.parent} holds another run's files now "
                f"({name.replace('.parquet', '')}: run {', '.join(sorted(found))}, this run {run_id}): another "
                "`cvp score` published into the same --out after this run; score it again, one run per --out at "
                "a time"
            )
    # every file the manifest's digests list, a missing one included: a churn or bridge file deleted from the set
    # since the run is refused as the readers refuse it (was: the partition added without it)
    recorded = manifest.get(DIGESTS) if isinstance(manifest.get(DIGESTS), dict) else {}
    for name, kind in copied.items():
        listed = kind in recorded or (stage / name).is_file()
        problem = digest_problem(stage / name, kind, manifest) if listed else None
        if problem is not None:
            raise StructuralError(
                f"not added to the score history: {problem.replace(str(stage / name), name)} (copied from "
                f"{contributions_path.parent}); score it again"
            )
