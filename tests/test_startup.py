"""Start fast and quietly: `cvp --help` parses arguments before anything heavy is imported, and no command prints
third-party warnings (pyspark's pandas-3 FutureWarning arrived with pandera, which imported pyspark.pandas).

Each check runs a fresh interpreter, because this test process has long imported everything. The interpreters
start in the background when the tests are collected (`BACKGROUND`, see `tests/background.py`): each test reads
its own interpreter's exit code and output.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.background import Fresh, scratch, take

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "pandera", "mlflow", "lightgbm", "numba", "pyspark", "shap", "sklearn", "scipy")
HELP = [["--help"], ["score", "--help"], ["train", "--help"], ["demo", "--help"]]

FEATURES_SUBMODULE = (
    "import sys, features.errors, features\n"
    "assert 'pandas' not in sys.modules, 'pandas imported by features.errors'\n"
    "features.build_feature_table\n"
    "assert 'features.table' in sys.modules and 'pandas' in sys.modules\n"
    "from features.validation import StructuralError\n"
    "assert StructuralError is features.errors.StructuralError\n"
    "assert sorted(features.__all__) == sorted(features._EXPORTS)\n"
    "assert all(getattr(features, name) is not None for name in features.__all__)\n"
)

SCHEMA_WITHOUT_PYSPARK = (
    "import sys\n"
    "import pandas as pd\n"
    "from features.schemas import check_tables\n"
    "assert 'pandera' not in sys.modules, 'pandera imported before a schema is checked'\n"
    "check_tables({'referrals': pd.DataFrame({'referrer_id': pd.Series(['a'], dtype='str'),\n"
    "    'referred_id': pd.Series(['b'], dtype='str'),\n"
    "    'referred_at': pd.Series(pd.to_datetime(['2024-01-01']), dtype='datetime64[ns]')})})\n"
    "assert 'pandera' in sys.modules\n"
    "assert 'pyspark' not in sys.modules, 'pandera pulled pyspark'\n"
    "assert 'pyspark.pandas' not in sys.modules, 'a placeholder for pyspark.pandas was left behind'\n"
)

_CHECK_ONE_TABLE = (
    "from features.schemas import check_tables\n"
    "check_tables({'referrals': pd.DataFrame({'referrer_id': pd.Series(['a'], dtype='str'),\n"
    "    'referred_id': pd.Series(['b'], dtype='str'),\n"
    "    'referred_at': pd.Series(pd.to_datetime(['2024-01-01']), dtype='datetime64[ns]')})})\n"
)

SCHEMA_AFTER_PYSPARK = (
    "import sys\n"
    "import pandas as pd\n"
    "import pyspark\n"
    + _CHECK_ONE_TABLE
    + "assert 'pyspark.pandas' not in sys.modules, 'pandera pulled pyspark.pandas'\n"
    "import importlib.util\n"
    "assert importlib.util.find_spec('pyspark.pandas') is not None\n"  # no placeholder left for Spark
    "print('checked quietly', flush=True)\n"
)

#: MLflow's own import and the run-time paths of `cvp train` that asked for pyspark (`mlflow.start_run` resolves its
#: context tags, asking pyspark whether it runs in a Databricks notebook; `log_model` checks its input example is
#: no Spark DataFrame): none imports it now; the product's own `import pyspark` is not refused afterwards.
MLFLOW_WITHOUT_PYSPARK = (
    "import sys\n"
    "import pandas as pd\n"
    "from pipelines.mlflow_import import mlflow\n"
    "from mlflow.models.utils import _Example\n"
    "from mlflow.tracking.context.registry import resolve_tags\n"
    "tags = resolve_tags({'cvp.check': '1'})\n"
    "_Example(pd.DataFrame({'x': [1.0]}))\n"
    "assert tags['cvp.check'] == '1' and 'pyspark' not in sys.modules, 'MLflow imported pyspark'\n"
    "import pyspark.sql\n"
    "print('pyspark imported by the product', flush=True)\n"
)

ORDERS_CSV = (
    "order_id,customer_id,ordered_at,revenue\n"
    "o1,c1,2024-01-05,10.5\n"
    "o2,c1,2024-02-05,20\n"
    "o3,c2,2024-03-01,7.25\n"
    "o4,c3,not a date,3\n"
)


def _fresh(args: list[str]) -> Callable[[], Fresh]:
    return lambda: Fresh(args, scratch("startup"), cwd=ROOT)


def _validate() -> Fresh:
    """`cvp validate` on a small orders file with one bad date."""
    root = scratch("startup-validate")
    (root / "data").mkdir()
    (root / "data" / "orders.csv").write_text(ORDERS_CSV)
    args = ["-m", "pipelines.cli", "validate", "--data", str(root / "data"), "--rejects", str(root / "rej")]
    return Fresh(args, root / "logs", cwd=ROOT)


#: Every interpreter of this module, by name: started when the tests are collected (`tests/conftest.py`).
BACKGROUND: dict[str, Callable[[], Fresh]] = {
    **{
        f"startup: {' '.join(argv)}": _fresh(["-X", "importtime", "-m", "pipelines.cli", *argv])
        for argv in HELP
    },
    "startup: features submodule": _fresh(["-c", FEATURES_SUBMODULE]),
    "startup: schema without pyspark": _fresh(["-W", "error::FutureWarning", "-c", SCHEMA_WITHOUT_PYSPARK]),
    "startup: validate": _validate,
}
if importlib.util.find_spec("pyspark") is not None:
    BACKGROUND["startup: schema after pyspark"] = _fresh(
        ["-W", "error::FutureWarning", "-c", SCHEMA_AFTER_PYSPARK]
    )
    BACKGROUND["startup: mlflow without pyspark"] = _fresh(["-c", MLFLOW_WITHOUT_PYSPARK])


def _run(name: str) -> tuple[int, str, str]:
    """The exit code, stdout and stderr of the interpreter `BACKGROUND[name]` (started now if it was not)."""
    return take(name, BACKGROUND[name]).wait(timeout=300)


def _imported(importtime_stderr: str) -> set[str]:
    """Top-level package names from `python -X importtime` output ("import time: self | cumulative | name")."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            names.add(name.split(".")[0])
    return names


@pytest.mark.parametrize("argv", HELP)
def test_help_imports_nothing_heavy(argv):
    code, out, err = _run(f"startup: {' '.join(argv)}")
    assert code == 0, err[-2000:]
    assert "Usage" in out
    imported = _imported(err)
    assert "typer" in imported  # the parser itself is measured: the check reads the right output
    heavy = sorted(set(HEAVY) & imported)
    assert not heavy, f"`cvp {' '.join(argv)}` imported {heavy} before parsing arguments"


def test_features_submodule_does_not_import_pandas():
    """`features/__init__.py` loads its names on first use, so the light `features.errors` stays light."""
    code, _, err = _run("startup: features submodule")
    assert code == 0, err[-2000:]


def test_schema_check_does_not_import_pyspark():
    """pandera imports pyspark.pandas at import time when pyspark is installed; our schemas do not let it, and
    leave no trace that would stop the Spark engine from importing pyspark.pandas later."""
    code, _, err = _run("startup: schema without pyspark")
    assert code == 0, err[-2000:]


@pytest.mark.skipif(
    importlib.util.find_spec("pyspark") is None, reason="pyspark not installed: nothing to hide"
)
def test_schema_check_after_mlflow_imported_pyspark_stays_quiet():
    """pyspark already imported before the tables are validated (`--engine spark`; MLflow did it in every `cvp
    score` and `cvp train` before `pipelines.mlflow_import`): pandera then imports pyspark.pandas when it registers
    its backends, unless the schema check hides it."""
    code, out, err = _run("startup: schema after pyspark")
    assert code == 0, err[-2000:]
    assert "checked quietly" in out


@pytest.mark.skipif(
    importlib.util.find_spec("pyspark") is None, reason="pyspark not installed: MLflow cannot import it"
)
def test_mlflow_does_not_import_pyspark():
    """pyspark belongs to `--engine spark`: MLflow imported pyspark at its import and in every `mlflow.start_run`
    (0.1-0.2 s of CPU in `cvp train`, `score`, `backtest` on pandas). `pipelines.mlflow_import` refuses it to
    MLflow's code only. (`cvp score` as a whole: `test_a_killed_score_process_leaves_one_whole_set`.)"""
    code, out, err = _run("startup: mlflow without pyspark")
    assert code == 0, err[-2000:]
    assert "pyspark imported by the product" in out


def test_validate_prints_no_third_party_warning():
    code, out, err = _run("startup: validate")
    assert code == 0, out[-2000:] + err[-2000:]
    assert "orders" in out
    output = out + err
    for noise in ("Warning", "warnings.warn", "require_minimum_pandas_version"):
        assert noise not in output, output[-2000:]
