"""MLflow, kept from importing pyspark: the one place the product imports MLflow from (`tests/test_layers.py`).

MLflow imports pyspark whenever it is installed: at its own import (`mlflow.types.schema`, `mlflow.pyfunc`,
`mlflow.models.utils` try it, to accept Spark DataFrames) and again at run time (every `mlflow.start_run` asks
pyspark whether it runs in a Databricks notebook; logging an input example checks it is no Spark DataFrame). pyspark
belongs to `--engine spark` only: in `cvp train`, `score` and `backtest` on pandas it cost 99 modules, 0.1-0.3 s of
CPU and 8 MB. So, before MLflow is imported, a finder goes first in `sys.meta_path` that refuses pyspark to MLflow's
code only (`ModuleNotFoundError`, which MLflow takes for "not installed"). It is asked only while pyspark is not
imported: once the Spark engine imported it, MLflow's later imports of it succeed; the product's own imports are
never refused.

What MLflow then does not know costs nothing here: its "has pyspark" flags, set False at its import when that came
first (a Spark command may load its model before Spark starts), only let a pyfunc model take a Spark
DataFrame, or a signature be inferred from Spark values, and the product never gives MLflow one (the Spark engine
scores with the unwrapped bundle inside `mapInPandas`; training logs its model from pandas rows; no `spark_udf`).
The logged model (flavour, signature, pinned requirements) is the same either way.

Import from here, inside the function that needs it (MLflow takes a second to import):
`from pipelines.mlflow_import import mlflow` (`mlflow.pyfunc` and `mlflow.models` are loaded too).
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder
from types import FrameType
from typing import Any

#: The importing code's module names that this process skips to find who asked (the import machinery's frames).
_MACHINERY = ("importlib", "_frozen_importlib")


class PysparkNotForMlflow(MetaPathFinder):
    """Refuses `import pyspark` when MLflow's code asks for it; leaves every other import to the other finders."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pyspark" and _importer(sys._getframe(1)).partition(".")[0] == "mlflow":
            raise ModuleNotFoundError(
                "pyspark is for --engine spark only: not imported for MLflow", name=name
            )
        return None


def _importer(frame: FrameType | None) -> str:
    """The module whose code runs the import, past the import machinery's own frames ("" when none is left)."""
    while frame is not None and frame.f_globals.get("__name__", "").startswith(_MACHINERY):
        frame = frame.f_back
    return "" if frame is None else str(frame.f_globals.get("__name__", ""))


if not any(type(finder).__name__ == PysparkNotForMlflow.__name__ for finder in sys.meta_path):  # a reload too
    sys.meta_path.insert(0, PysparkNotForMlflow())

import mlflow  # noqa: E402  (after the finder: MLflow's own import asks for pyspark)
import mlflow.models  # noqa: E402
import mlflow.pyfunc  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.models import infer_signature  # noqa: E402

__all__ = ["MlflowException", "PysparkNotForMlflow", "infer_signature", "mlflow"]
