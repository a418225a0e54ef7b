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
