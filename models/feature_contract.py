"""A model's feature contract: which columns are features, their kinds and training categories, and how
scoring data is held to them (missing columns and wrong kinds refuse; unseen categories score as missing)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

ID_COLUMNS = ("customer_id", "cutoff")
LABEL_PREFIX = "label_"


def feature_columns(frame: pd.DataFrame) -> list[str]:
    """Feature columns of a training set or feature table: everything but ids, the cutoff and labels."""
    return [c for c in frame.columns if c not in ID_COLUMNS and not str(c).startswith(LABEL_PREFIX)]


@dataclass
class FeatureContract:
    """Feature names, kinds and training categories; re-applies them so predict sees what fit saw.

    Numeric columns become float64; categorical columns become pandas `category` with exactly the training
    categories (values not seen at fit become NaN, which LightGBM treats as missing). Strings are accepted at
    predict (MLflow pyfunc passes strings) and re-coded the same way.
    """

    names: list[str] = field(default_factory=list)
    dtypes: dict[str, str] = field(default_factory=dict)
    categories: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, X: pd.DataFrame) -> FeatureContract:
        names = list(X.columns)
        dtypes: dict[str, str] = {}
        categories: dict[str, list[str]] = {}
        for c in names:
            col = X[c]
            if isinstance(col.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(col):
                dtypes[c] = "category"
                values = (
                    col.cat.categories
                    if isinstance(col.dtype, pd.CategoricalDtype)
                    else col.dropna().unique()
                )
                categories[c] = sorted(str(v) for v in values)
            else:
                dtypes[c] = "float64"
        return cls(names, dtypes, categories)

    def apply(self, X: pd.DataFrame) -> pd.DataFrame:
        """The frame's feature columns in training order and dtypes (raises KeyError on missing columns)."""
        missing = [c for c in self.names if c not in X.columns]
        if missing:
            raise KeyError(f"feature columns missing: {missing}")
        out = {}
        for c in self.names:
            col = X[c]
            if self.dtypes[c] == "category":
                cats = self.categories[c]
                values = col.astype("str").where(col.notna())
                # Unseen categories become missing explicitly (pandas will stop doing it silently).
                values = values.where(values.isin(cats))
                out[c] = pd.Categorical(values, categories=cats)
            else:
                out[c] = pd.to_numeric(col, errors="coerce").astype("float64").to_numpy()
        return pd.DataFrame(out, index=X.index)

    def grade(self, X: pd.DataFrame) -> tuple[list[str], dict[str, dict[str, int]], list[str]]:
        """The contract check, graded: (refusals, unseen categories, ignored columns).

        Refusals (missing feature columns, wrong dtypes) mean the model cannot score `X`. Unseen categories
        (column -> value -> row count) are scored as missing, as at fit; feature columns the contract does not
        know are ignored. The one place that compares a feature table with the contract.
        """
        fatal: list[str] = []
        missing = [c for c in self.names if c not in X.columns]
        if missing:
            fatal.append(f"missing feature columns: {missing}")
        unseen: dict[str, dict[str, int]] = {}
        for c in self.names:
            if c not in X.columns:
                continue
            col = X[c]
            if self.dtypes[c] == "float64":
                if not pd.api.types.is_numeric_dtype(col) or isinstance(col.dtype, pd.CategoricalDtype):
                    fatal.append(f"{c}: expected a numeric column, got {col.dtype}")
                continue
            values = col.astype("str").where(col.notna()).dropna()
            new = values[~values.isin(self.categories[c])]
            if len(new):
                unseen[c] = {str(k): int(v) for k, v in new.value_counts().sort_index().items()}
        ignored = [c for c in feature_columns(X) if c not in self.dtypes]
        return fatal, unseen, ignored

    def problems(self, X: pd.DataFrame) -> list[str]:
        """Human-readable contract violations: missing/extra features, wrong dtypes, unknown categories."""
        fatal, unseen, ignored = self.grade(X)
        found = [f for f in fatal if f.startswith("missing feature")]
        if ignored:
            found.append(f"unexpected feature columns (ignored): {ignored}")
        found += [f for f in fatal if not f.startswith("missing feature")]
        for c, counts in unseen.items():
            unknown = sorted(counts)
            shown = unknown[:5] + (["..."] if len(unknown) > 5 else [])
            found.append(f"{c}: {len(unknown)} categories unseen in training (scored as missing): {shown}")
        return found
