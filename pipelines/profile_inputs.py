"""The profile's inputs, written by `cvp score` so `cvp profile` reads the run instead of the data (issue 12).

`ProfileInputsWriter` is the scoring run's hook: the pandas engine hands it every chunk's feature table (all the
chunk's customers, scored or not; the Spark engine hands it each bucket's inputs computed on the executors) and it
appends `models.profile.profile_inputs` of the chunk to
`<stem>.profile_inputs.parquet` in the run's staging directory; `run_score` declares the file in the manifest
(`profile_inputs`) and publishes it with the rest of the output set (`pipelines.outputs`). One row per customer:
`customer_id`, `run_id`, the profile attributes, acquisition channel and recorded acquisition cost (`customer:*`),
the numeric behaviour features and `profit_net_lifetime`; no personal column, no prediction.

`read_profile_inputs` (`pipelines.outputs`, with the set) reads it back for `cvp profile`, refusing a file of another run. A run without the file
(runs scored before this version) is profiled from the data instead (`pipelines.profile`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.outputs import read_profile_inputs  # read with its set, under the set's lock (`cvp profile`)


class ProfileInputsWriter:
    """Appends one chunk's profile inputs at a time (`add(features)`), in one schema for the whole file."""

    def __init__(
        self,
        path: Path,
        run_id: str | None,
        tables: Mapping[str, pd.DataFrame],
        attributes: tuple[str, ...],
        feature_settings: Any,
    ) -> None:
        """`attributes`: the run's `profile.attributes`; `feature_settings`: those the run builds features with."""
        from features import feature_registry
        from pipelines.outputs import ContributionsWriter

        t0 = time.perf_counter()
        self.attributes = tuple(attributes)
        self.feature_settings = feature_settings
        self.registry = feature_registry(feature_settings)
        # the run's tables, read at the first `add`: a caller that clears them (the Spark driver, issue 11) lets
        # their customers go too
        self._tables: Mapping[str, pd.DataFrame] = tables
        self._customers: pd.DataFrame | None = None
        self.writer = ContributionsWriter(path, run_id)
        self.columns: list[str] | None = None
        self.seconds = time.perf_counter() - t0

    @property
    def customers(self) -> pd.DataFrame:
        """`models.profile.customer_inputs` of the run's customers, built at the first `add` (the pandas engine's
        chunks): a row per customer that the Spark driver, whose executors compute each bucket's inputs
        (`add_inputs`), never builds (issue 11: 84 bytes per customer of the demo held for nothing)."""
        if self._customers is None:
            from models.profile import customer_inputs

            self._customers = customer_inputs(self._tables.get("customers"), self.attributes)
            self._tables = {}
        return self._customers

    def add(self, features: pd.DataFrame) -> None:
        from models.profile import profile_inputs

        t0 = time.perf_counter()
        self.add_inputs(profile_inputs(features, self.customers, self.registry))
        self.seconds += time.perf_counter() - t0

    def add_inputs(self, frame: pd.DataFrame) -> None:
        """Append profile inputs already computed (`models.profile.profile_inputs` of one chunk; the Spark engine
        computes them on the executors, bucket by bucket, with this writer's `attributes` and settings)."""
        if self.columns is None:
            self.columns = [str(c) for c in frame.columns]
        else:  # every chunk in the first chunk's columns and order
            frame = frame.reindex(columns=self.columns)
        self.writer.add(frame)

    def close(self) -> None:
        """The file closed, and the customers let go: `run_score` closes the writer before it writes the scores
        (on the Spark engine, whose executors hand in the inputs, `add` never ran to let the table go)."""
        self.writer.close()
        self._tables, self._customers = {}, None

    def info(self) -> dict[str, Any]:
        """What the manifest says about the file (`profile_inputs`)."""
        from models.profile import CUSTOMER_PREFIX

        columns = self.columns or []
        return {
            "file": self.writer.path.name,
            "rows": self.writer.rows,
            "customer_columns": [c[len(CUSTOMER_PREFIX) :] for c in columns if c.startswith(CUSTOMER_PREFIX)],
            "features": len([c for c in columns if not c.startswith(CUSTOMER_PREFIX)]),
            "seconds": round(self.seconds, 3),
        }


__all__ = ["ProfileInputsWriter", "read_profile_inputs"]
