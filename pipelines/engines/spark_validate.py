"""`cvp validate --engine spark` (issue 11): a new export checked on Spark without scoring it.

The load is the scoring load's, step for step (`spark_input.load_and_report_spark`: Spark's readers, the contract's
row rules per Arrow batch on the executors, the stops' verdicts on the driver, the rejects written by the executors
into `<rejects>/<table>/` and swapped in whole, the counts per table and reason printed as `cvp validate` prints
them); then the notes `cvp validate` gives of the whole data (`pipelines.jobs.say_export_stops`: a table or a model
input whose export stopped while the orders ran on), judged as `cvp score --engine spark` judges them: on the
driver's tables with the whole tables' per-day counts summed as they streamed (`SparkTables.filled_days`) and the
times the driver keeps not found by Spark (`SparkTables.latest_events`, `event_days`), in the same session.

What reaches the driver: what the scoring load streams, nothing more (every accepted row passes once, a sorted
partition at a time, and is kept only in the columns the driver's notes read: docs/spark.md, "What still reaches
the driver"). pyspark is imported only here, when `--engine spark` is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from pipelines.config import AppConfig
    from pipelines.engines.spark_catalog import CatalogName
    from pipelines.io import LoadedData


def validate_on_spark(
    data: Path | None,
    cfg: AppConfig,
    console: Console,
    master: str | None,
    rejects: Path | None,
    tables: Mapping[str, CatalogName] | None,
    whole_data_notes: Callable[[Any, AppConfig, Console], Any],
) -> LoadedData:
    """`data` (and `tables`, `--tables`' catalog tables) read and validated by Spark, the rejects published into
    `rejects` (`spark_parts.publish_rejects_spark`: executors' parts, swapped in whole), the counts and notes
    printed; then `whole_data_notes(tables, cfg, console)` (`jobs.say_export_stops`) in the same session, which
    still holds the accepted rows it asks Spark about. The session, started by the load, ends here (one found
    running, a test's or spark-submit's, is left so), the accepted rows let go."""
    from pipelines.engines.spark_engine import mapped_errors
    from pipelines.engines.spark_input import load_and_report_spark
    from pipelines.engines.spark_session import session_for_the_job
    from pipelines.rejected_rows import VALIDATE

    with session_for_the_job(master):  # the load's session lasts until the notes are judged
        loaded = load_and_report_spark(
            None if data is None else Path(data), cfg, console, master, rejects, tables, VALIDATE
        )
        accepted = getattr(loaded.tables, "accepted", None)
        try:
            with mapped_errors():
                whole_data_notes(loaded.tables, cfg, console)
        finally:
            if accepted is not None:
                accepted.unpersist()
    return loaded
