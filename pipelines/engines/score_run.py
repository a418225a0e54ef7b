"""What `pipelines.engines.run.run_score` hands back (`ScoreRun`): the scores, the manifest, the contributions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from models.reason_text import with_reason_sentences


class ScoreRun:
    """What `run_score` hands back: the scores, the manifest and the published contributions file.

    When the run spilled its reason columns (pandas engine, Parquet output), the frame kept in memory has none:
    `scores` then reads them back from the published scores file, each time it is asked for (the caller decides
    whether a million customers' sentences are held in memory).
    """

    def __init__(
        self,
        scores: pd.DataFrame,
        manifest: dict[str, Any],
        contributions_path: Path | None,
        reasons_from: Path | None = None,
        reasons: tuple[str, ...] = (),
        reasons_at: int = 0,
    ) -> None:
        self._scores = scores
        self.manifest = manifest
        self.contributions_path = contributions_path
        self._reasons_from = reasons_from
        self._reasons = reasons
        self._reasons_at = reasons_at

    @property
    def scores(self) -> pd.DataFrame:
        """The scores as a person reads them: the stored reasons worded (`models.reason_text`)."""
        currency = self.manifest["reasons"]["currency"]
        if self._reasons_from is None or not self._reasons:
            return with_reason_sentences(self._scores, currency)
        import pyarrow.parquet as pq

        from pipelines.outputs import insert_columns

        reasons = pq.read_table(self._reasons_from, columns=list(self._reasons)).to_pandas()
        return with_reason_sentences(insert_columns(self._scores, reasons, self._reasons_at), currency)
