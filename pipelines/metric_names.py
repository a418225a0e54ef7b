"""What each backtest metric (`models.metrics`) is called: a short label for the console tables
(`pipelines.backtest_console`) and words for a team lead on the model card (`pipelines.reports.phrases`).
One table, read by both; no imports, so the reports path stays free of `rich`."""

from __future__ import annotations

#: metric -> (console column label, model card words; `{currency}` is the model's currency). The legend under each console table gives the metric
#: names; the model card shows the raw name beside its words for a data scientist.
METRIC_NAMES: dict[str, tuple[str, str]] = {
    "value_norm_gini": ("Gini", "Gini (ranking quality: 1 = perfect order, 0 = random)"),
    "value_top20_capture": (
        "top 20%",
        "Top 20% capture (share of the real value held by the predicted top 20%)",
    ),
    "value_spearman": ("Spearman", "Spearman (ranking agreement)"),
    "value_aggregate_bias": ("bias", "Bias (predicted total over real total, 1 = right)"),
    "value_decile_mape": ("MAPE", "Decile error (how far each tenth's total was off, lower is better)"),
    "value_mae": ("MAE", "Mean absolute error (per customer, in {currency}, lower is better)"),
    "value_interval_coverage": (
        "P10-P90",
        "Range coverage (how often the real value fell inside the range)",
    ),
    "auc_buys": ("of P(buys)", "AUC buys again (from the risk of leaving, 0.5 = chance)"),
    "auc_buys_value": ("of value", "AUC buys again (from the expected value, 0.5 = chance)"),
    "churn_roc_auc": ("AUC churn", "AUC churn (who leaves, 0.5 = chance)"),
    "churn_pr_auc": ("PR AUC", "PR AUC churn (finding those who leave)"),
    "churn_brier": ("Brier", "Brier (churn probability error, lower is better)"),
    "churn_ece": ("ECE", "Calibration error (churn percentages vs what happened, lower is better)"),
}

#: Short column labels of the console tables.
METRIC_LABELS = {metric: label for metric, (label, _) in METRIC_NAMES.items()}
#: The model card's metric words.
METRIC_WORDS = {metric: words for metric, (_, words) in METRIC_NAMES.items()}

#: Metrics shown in the backtest tables (the console's and the model card's), in this order. "AUC (buys again)" has its own table, side by side:
#: `auc_buys` of each model's purchase probability (1 - churn, the primary one), `auc_buys_value` of its value.
TABLE_METRICS = (
    "value_norm_gini",
    "value_top20_capture",
    "value_spearman",
    "value_aggregate_bias",
    "value_decile_mape",
    "value_interval_coverage",
    "auc_buys",
    "auc_buys_value",
    "churn_roc_auc",
    "churn_pr_auc",
    "churn_brier",
    "churn_ece",
)


#: The table of each metric whose name does not start with its table's kind ("value_", "churn_").
TABLE_OF = {"auc_buys": "buys", "auc_buys_value": "buys"}
#: Table titles by kind.
TABLE_TITLES = {"value": "value", "churn": "churn", "buys": "AUC (buys again)"}
#: What a table's legend says before the metric names.
TABLE_NOTES = {"buys": "buys again = net value > 0 in the horizon, P(buys) = 1 - churn probability; "}


def metric_tables(metrics: list[str] | set[str]) -> list[tuple[str, list[str]]]:
    """(kind, its metrics in `TABLE_METRICS` order) per table of `TABLE_TITLES` that has any: the backtest's
    tables on the console and on the model card alike; a metric of no table (`value_mae`) goes to the value
    table when it starts with "value_", else to a table of its own kind, after the known ones."""
    have = set(metrics)
    known = [m for m in TABLE_METRICS if m in have]
    others = sorted(have - set(known))
    groups: dict[str, list[str]] = {}
    for m in [*known, *others]:
        groups.setdefault(TABLE_OF.get(m, m.split("_")[0]), []).append(m)
    order = [k for k in TABLE_TITLES if k in groups] + [k for k in groups if k not in TABLE_TITLES]
    return [(k, groups[k]) for k in order]
