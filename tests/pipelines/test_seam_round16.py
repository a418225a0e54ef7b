"""Round 16 of the train/score seam: what still let a wrong result through with exit 0, or two paths that should
agree did not.

Each test failed on the code before its fix (the `was:` of each docstring)."""

from __future__ import annotations

import json

from tests.helpers import quiet


def test_models_marks_a_version_backtested_on_more_or_other_spaced_folds(trained, monkeypatch):
    """`cvp train` twice on the same data, seed and settings but `models.backtest_folds: 2` the second time: the
    same model, listed by `cvp models` as "0.806 (-0.019)" Gini and "0.720 (-0.064)" AUC against the champion,
    unmarked, and `--json` said `same_folds_as_champion: true` (was: the mean over two folds read as a worse
    model than the champion's mean over one). A training records its folds' spacing beside their number
    (`backtest_step_months`); a version of another number or spacing of folds is marked `*` as one of another
    as-of; a version that recorded no spacing (trained before) is judged on the rest."""
    import contextlib
    import sqlite3

    import pipelines.registry as registry
    from pipelines.config import load_config

    db = sqlite3.connect(f"file:{trained.mlruns / 'mlflow.db'}?mode=ro", uri=True)
    with contextlib.closing(db):
        params = dict(db.execute("SELECT key, value FROM params").fetchall())  # the fixture's one training
    cfg = load_config(trained.config)
    assert (params["backtest_folds"], params["backtest_step_months"]) == (
        str(cfg.models.backtest_folds),
        str(cfg.models.backtest_step_months),  # was: KeyError, not recorded
    )
    one = registry.VersionRow("1", "r" * 32, params["as_of"], params["horizon_days"], {}, (), "", {})

    def row(version, folds, step, alias=()):
        model = {"value_norm_gini": 0.8, "churn_roc_auc": 0.7}
        fields = vars(one) | {"version": version, "aliases": alias, "backtest": {"model": model}}
        return registry.VersionRow(**fields | {"backtest_folds": folds, "backtest_step_months": step})

    rows = [
        row("1", "2", "3", ("champion",)),
        row("2", "2", "3"),  # the same folds
        row("3", "3", "3"),  # one fold more: its mean is over three
        row("4", "2", "6"),  # two folds, six months apart instead of three
        row("5", "", ""),  # trained before the spacing was recorded: judged on as-of, horizon and sample
    ]
    single = (row("6", "1", "3"), row("7", "1", "6"))  # one fold each: placed by the as-of alone
    assert not registry._other_folds(single[1], single[0]) and registry._other_folds(single[0], rows[0])
    monkeypatch.setattr(registry, "list_versions", lambda config, uri, say=None: (cfg, rows))
    console = quiet(width=80)
    registry.run_models(None, None, console)
    out = console.file.getvalue()
    as_of = {
        line.split()[0]: line.split()[2] for line in out.splitlines() if line.split()[:1] in (["2"], ["3"])
    }
    assert as_of == {"2": one.as_of, "3": one.as_of + "*"}, out  # was: "3" unmarked
    assert "number or spacing of backtest folds" in " ".join(out.split())
    listed = {
        v["version"]: v["same_folds_as_champion"]
        for v in json.loads(registry.versions_json(rows, cfg))["versions"]
    }
    assert listed == {"1": True, "2": True, "3": False, "4": False, "5": True}  # was: all True
