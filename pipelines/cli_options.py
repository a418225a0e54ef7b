"""The `cvp` flags several commands share (`pipelines/cli.py`): their types, defaults and help texts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def _given_path(text: str | Path) -> Path:
    """Every path flag: an empty value is refused, never read as `.` (was: `--out ""`, an unset variable in a
    script, wrote the demo company or the rejects into the working directory; `--data ""` read it). A flag's
    default (`cvp demo --out demo`) arrives as the `Path` it is."""
    if isinstance(text, Path):
        return text
    if not text.strip():
        raise typer.BadParameter("empty: give a path (an unset variable in a script?)")
    return Path(text)


def path_option(*names: str, **settings: Any) -> Any:
    """`typer.Option` for a path flag (`_given_path`)."""
    return typer.Option(*names, parser=_given_path, **settings)


DataOpt = Annotated[Path, path_option("--data", help="Directory with one file per table (CSV or Parquet).")]
MappingOpt = Annotated[
    Path | None, path_option("--mapping", help="YAML mapping a foreign schema onto the contract.")
]
ConfigOpt = Annotated[Path | None, path_option("--config", help="YAML overriding configs/default.yaml.")]
#: `--data` of the commands with `--engine spark`: optional when `--tables` names the catalog tables
SparkDataOpt = Annotated[
    Path | None,
    path_option(
        "--data", help="Directory with one file per table (CSV or Parquet); with --tables: the others."
    ),
]
TablesOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--tables", help="--engine spark: catalog tables, orders=db.orders,... or a YAML file of them."
    ),
]


AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Cutoff date (default: the day after the last order in the data)."),
]
TrackingOpt = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking server or store (default: $MLFLOW_TRACKING_URI, else the local mlruns/ store).",
    ),
]
HorizonOpt = Annotated[
    int | None, typer.Option("--horizon-days", min=1, help="Override labels.horizon_days.")
]


SampleOpt = Annotated[
    int | None,
    typer.Option(
        "--sample-customers",
        min=1,
        help="Fit on N customers (a keyed hash sample of the ids, the same on any engine); company values "
        "from the whole base. Default: every customer.",
    ),
]
ModelEngineOpt = Annotated[
    str, typer.Option("--engine", help="pandas, or spark: read, validate and sample on Spark, fit here")
]
#: `--engine` of `cvp score` and `cvp validate`
EngineOpt = Annotated[str, typer.Option("--engine", help="pandas or spark")]
SparkMasterOpt = Annotated[str | None, typer.Option("--spark-master", help="Spark master URL.")]

#: the engines `--engine` names (`check_engine`)
ENGINES = ("pandas", "spark")


def check_engine(engine: str) -> None:
    """`--engine` of every command that has it (score, validate, train, backtest): one of `ENGINES`, else exit 2."""
    if engine not in ENGINES:
        from features.validation import StructuralError

        raise StructuralError(f"--engine must be pandas or spark, not {engine!r}")
