"""The resolved configuration: one YAML file parsed once into frozen, typed settings that reject unknown keys.

`configs/default.yaml` holds every default (the settings classes have none: a field missing from the merged YAML
is an error, never a code default); `--config FILE` overrides any subset (deep-merged over the defaults).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from features.config import FeatureConfig, LabelConfig
from features.dates import check_date_format, check_timezone
from features.validation import StructuralError
from models.config import ModelConfig
from models.config_sections import ExplainConfig, ProfileConfig
from models.tier_config import TierConfig
from pipelines.given_dates import DEMO_DAY, date_problem, parse_date
from pipelines.reports.config import ReportConfig
from pipelines.yamlfile import read_yaml, read_yaml_settings

#: The product's defaults: package data of the `configs` package, so an installed wheel reads the same file as a
#: checkout. Read on every `load_config`; a missing or unreadable file is a StructuralError, never a fallback.
DEFAULT_CONFIG = Path(str(resources.files("configs").joinpath("default.yaml")))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _contract_column(key: str, kinds: tuple[str, ...]) -> tuple[str, str]:
    from features.contract import TABLES
    from features.names import did_you_mean

    table, _, column = key.partition(".")
    if table not in TABLES:
        guess = did_you_mean(table, TABLES)
        raise ValueError(
            f"{key!r}: unknown table {table!r}" + (f" (did you mean {guess!r}?)" if guess else "")
        )
    names = [c.name for c in TABLES[table].columns if c.kind in kinds]
    if column not in names:
        guess = did_you_mean(column, names)
        raise ValueError(
            f"{key!r}: {table} has no {'/'.join(kinds)} column {column!r}"
            + (f" (did you mean {guess!r}?)" if guess else f"; its columns of that kind: {', '.join(names)}")
        )
    return table, column


class DataConfig(_Frozen):
    timezone: str
    currency: str
    # Non-ISO date formats, declared per `table.column` (strftime): {"orders.ordered_at": "%d/%m/%Y"}.
    # Undeclared columns must be ISO 8601; nothing is guessed.
    date_formats: dict[str, str]
    # Sanity bounds per `table.column` (money/number): a value above is a row reject naming the bound.
    max_values: dict[str, float]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return check_timezone(v)

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        """An ISO 4217 code, upper case: `eur` is EUR (was: another currency than a EUR model's, refused); `Euro`,
        `€`, `US$` are refused (was: printed on every amount of the reports as given)."""
        import re

        if not re.fullmatch(r"[A-Za-z]{3}", v.strip()):
            raise ValueError("should be a three-letter ISO 4217 currency code (EUR, USD, GBP, ...)")
        return v.strip().upper()

    @field_validator("date_formats")
    @classmethod
    def _formats(cls, v: dict[str, str]) -> dict[str, str]:
        for key, fmt in v.items():
            _contract_column(key, ("timestamp",))
            check_date_format(key, fmt)
        return v

    @field_validator("max_values")
    @classmethod
    def _bounds(cls, v: dict[str, float]) -> dict[str, float]:
        for key, bound in v.items():
            _contract_column(key, ("money", "number"))
            if not math.isfinite(bound) or bound <= 0:
                raise ValueError(
                    f"max_values {key!r}: the bound must be a positive finite number, not {bound}"
                )
        return v


class DemoConfig(_Frozen):
    customers: int = Field(gt=0)
    start: str
    end: str
    seed: int

    @field_validator("start", "end", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        """A date the demo can use, checked when the config is read (was: `cvp demo` stopping at its first step
        with `--start 'garbage' is not a date`, naming a flag the command does not have). YAML's unquoted
        `2021-01-01` (a date) is taken as written."""
        import datetime as dt

        if isinstance(v, dt.date):
            v = v.isoformat()
        if isinstance(v, str):
            _, problem = date_problem(v, day_rule=DEMO_DAY)
            if problem is not None:
                raise ValueError(problem.removeprefix("is "))
        return v

    @model_validator(mode="after")
    def _ordered(self) -> DemoConfig:
        if parse_date(self.start, "demo.start", day_rule=DEMO_DAY) >= parse_date(
            self.end, "demo.end", day_rule=DEMO_DAY
        ):
            raise ValueError(f"demo.start {self.start!r} must be before demo.end {self.end!r}")
        return self


class ScoringConfig(_Frozen):
    chunk_customers: int = Field(gt=0)  # customers per chunk: bounds peak memory beyond the input
    psi_threshold: float = Field(gt=0)  # population stability index above which a column has drifted
    # months before a training as-of (0: the as-of) whose same day adds the base scored then to the model's drift
    # reference (`pipelines.drift_reference`): at least one, each once
    drift_reference_months: tuple[int, ...] = Field(min_length=1)
    # days after the model's training as-of (its latest cutoff + horizon) past which `cvp score` warns that the
    # model is stale (`--strict` refuses); null: never (`features.contract.model_age_note`)
    max_model_age_days: int | None = Field(gt=0)
    # P90 - P10 of the scored customers' churn probabilities below which the run warns that the churn model tells
    # nobody apart (`pipelines.score_console.flat_churn`)
    min_churn_logit_spread: float = Field(ge=0)
    # rows of a table the orders after its last row would have brought, from which the run warns that its export
    # stopped (`pipelines.data_age.stopped_tables`)
    stopped_table_rows: int = Field(gt=0)
    # Feature columns copied into the scores for the reports (placeholders as in rule columns); see
    # `AppConfig.carried_features`, which adds the columns the tier and flag rules read.
    carry_features: tuple[str, ...]

    @field_validator("drift_reference_months")
    @classmethod
    def _months_once(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(m < 0 for m in value) or len(set(value)) != len(value):
            raise ValueError(f"drift_reference_months must be distinct whole months >= 0, got {list(value)}")
        return value


#: The placeholders of a configured column name: the horizon, the longest and the shortest feature window.
COLUMN_PLACEHOLDERS = {
    "h": "labels.horizon_days",
    "w_long": "max(features.windows_days)",
    "w_short": "min(features.windows_days)",
}


def expand_column(template: str, windows_days: Sequence[int], horizon_days: int | None = None) -> str:
    """A configured column name with its placeholders filled: `{w_long}` / `{w_short}` by the longest / shortest
    window, `{h}` by `horizon_days` (kept as `{h}` when None: the tier rules fill it with the model's horizon).

    The one place these placeholders are expanded. Any other placeholder is a ValueError naming the known ones.
    """
    h: object = "{h}" if horizon_days is None else horizon_days
    try:
        return template.format(h=h, w_long=max(windows_days), w_short=min(windows_days))
    except (KeyError, IndexError, ValueError) as err:
        known = ", ".join(f"{{{k}}} = {v}" for k, v in COLUMN_PLACEHOLDERS.items())
        raise ValueError(f"column {template!r}: unknown placeholder {err}; the known ones: {known}") from None


def _expand_windows(data: dict[str, Any]) -> dict[str, Any]:
    """The raw config with `{w_long}` / `{w_short}` filled in every tier rule column and carried feature."""
    try:
        windows = FeatureConfig.model_validate(data.get("features")).windows_days
    except ValidationError:
        return data  # the features section reports its own error

    def fill(value: Any) -> Any:
        return expand_column(value, windows) if isinstance(value, str) else value

    def fill_rule(rule: Any) -> Any:
        if not isinstance(rule, dict):
            return rule
        return {k: fill(v) if k in ("column", "scale_column") else v for k, v in rule.items()}

    out = dict(data)
    tiers = data.get("tiers")
    if isinstance(tiers, dict):
        tiers = dict(tiers)
        if "value_column" in tiers:
            tiers["value_column"] = fill(tiers["value_column"])
        if isinstance(tiers.get("great"), dict) and "churn_column" in tiers["great"]:
            tiers["great"] = {**tiers["great"], "churn_column": fill(tiers["great"]["churn_column"])}
        for key in ("problem_rules", "flag_rules"):
            if isinstance(tiers.get(key), list | tuple):
                tiers[key] = [fill_rule(r) for r in tiers[key]]
        out["tiers"] = tiers
    scoring = data.get("scoring")
    if isinstance(scoring, dict) and isinstance(scoring.get("carry_features"), list | tuple):
        out["scoring"] = {**scoring, "carry_features": [fill(c) for c in scoring["carry_features"]]}
    return out


class MlflowConfig(_Frozen):
    tracking_dir: str
    experiment: str
    registered_model: str


def _report_currency(data: dict[str, Any]) -> dict[str, Any]:
    """`report.currency` is the data's (`data.currency`): filled from it (`null` in the defaults), and one written
    otherwise is refused
    (round 24, was: `report.currency: USD` over EUR data ignored without a word, the pages in EUR; the pages say
    the amounts the run scored, which are in `data.currency`)."""
    report, currency = data.get("report"), (data.get("data") or {}).get("currency")
    if not isinstance(report, dict) or not isinstance(currency, str):
        return data  # the sections' own validation names what is wrong
    written = report.get("currency")
    if written is not None and str(written).strip().upper() != currency.strip().upper():
        raise ValueError(
            f"report.currency {written!r} differs from data.currency {currency!r}: the pages state the amounts "
            "in the currency of the data they were scored from; set data.currency (the data's currency), and "
            "remove report.currency"
        )
    return data | {"report": report | {"currency": currency.strip().upper()}}


class AppConfig(_Frozen):
    data: DataConfig
    demo: DemoConfig
    features: FeatureConfig
    labels: LabelConfig
    models: ModelConfig
    tiers: TierConfig
    explain: ExplainConfig
    report: ReportConfig
    scoring: ScoringConfig
    mlflow: MlflowConfig
    profile: ProfileConfig
    # the settings as written (merged, placeholders unfilled), kept by `load_config` so that
    # `with_model_settings` fills the rule columns for another model's windows
    _written: dict[str, Any] | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _fill_window_placeholders(cls, data: Any) -> Any:
        return _expand_windows(_report_currency(data)) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _rule_columns_exist(self) -> AppConfig:
        """Every column a tier/flag rule names must be a feature (for the configured windows) or a prediction
        column `pred_*_{h}d` of the configured horizon: a rule on a column that cannot exist would silently
        never fire (the problem tier would just disappear). Carried features must be features. Checked after
        the window placeholders are filled."""
        import re

        from features.names import did_you_mean
        from features.registry import feature_registry

        h = self.labels.horizon_days
        features = list(feature_registry(self.features))
        pred = re.compile(rf"^pred_[a-z0-9_]+_{h}d$")
        named = [
            ("tiers.value_column", self.tiers.value_column),
            ("tiers.great.churn_column", self.tiers.great.churn_column),
        ]
        for what, rules in (
            ("problem_rules", self.tiers.problem_rules),
            ("flag_rules", self.tiers.flag_rules),
        ):
            for rule in rules:
                named += [(f"tiers.{what}.{rule.name}", c) for c in (rule.column, rule.scale_column) if c]
        problems = [
            f"scoring.carry_features: column {col!r} is not a feature (windows {list(self.features.windows_days)})"
            + (f"; did you mean {guess!r}?" if (guess := did_you_mean(col, features)) else "")
            for col in self.scoring.carry_features
            if col not in features
        ]
        for where, template in named:
            col = expand_column(template, self.features.windows_days, h)
            if col in features or pred.match(col):
                continue
            guess = did_you_mean(
                col, features + [f"pred_value_{h}d", f"pred_churn_prob_{h}d", f"pred_expected_net_value_{h}d"]
            )
            problems.append(
                f"{where}: column {col!r} is neither a feature (windows {list(self.features.windows_days)}) "
                f"nor a prediction column pred_*_{h}d" + (f"; did you mean {guess!r}?" if guess else "")
            )
        if problems:
            raise ValueError("rules on columns that cannot exist:\n  " + "\n  ".join(problems))
        return self

    def carried_features(self) -> tuple[str, ...]:
        """The feature columns scoring copies into its output, each once: `scoring.carry_features`, then every
        feature column a problem or flag rule reads (prediction columns are produced anyway), all for the
        configured windows. Scoring keeps those present in the feature table it built."""
        from features.registry import feature_registry

        registry = feature_registry(self.features)
        h = self.labels.horizon_days
        ruled = [c for r in (*self.tiers.problem_rules, *self.tiers.flag_rules) for c in r.columns(h)]
        return tuple(dict.fromkeys(c for c in (*self.scoring.carry_features, *ruled) if c in registry))

    def with_model_settings(self, features: FeatureConfig, labels: LabelConfig) -> AppConfig:
        """This configuration with a model's (or a scored run's) feature and label settings, its tier rules and
        carried features filled for that model's windows and horizon: the run's policy as written, applied to the
        features the model has. A rule column that the model's features cannot have is a StructuralError (was:
        scoring a 30/90/365-day model with `windows_days: [30, 180]` filled `{w_long}` with 180, so six default
        rules named `..._180d` features the model lacked and were skipped with a note; problems fell from 222 to
        175, exit 0). A configuration built in code, not by `load_config`, is copied with the two settings."""
        if self._written is None:
            return self.model_copy(update={"features": features, "labels": labels})
        data = self._written | {
            "features": features.model_dump(mode="json"),
            "labels": labels.model_dump(mode="json"),
        }
        try:
            out = AppConfig.model_validate(data)
        except ValidationError as exc:
            problems = _config_problems(exc, _read_yaml(DEFAULT_CONFIG))
            raise StructuralError(
                f"the configuration does not fit the model's features (windows {list(features.windows_days)}, "
                f"horizon {labels.horizon_days} days; write rule columns with {{w_long}} / {{w_short}} / {{h}}, "
                "or score with the model's windows): " + "; ".join(problems)
            ) from exc
        out._written = data
        return out

    def with_data(self, **settings: Any) -> AppConfig:
        """This configuration with these `data:` settings (`timezone`, `max_values`): a model's training data
        settings imposed on the run (`pipelines.engines.scoring.resolve_settings`), or a run's on its reader."""
        out = self.model_copy(update={"data": self.data.model_copy(update=settings)})
        if self._written is not None:
            out._written = self._written | {"data": dict(self._written.get("data") or {}) | settings}
        return out

    def digest(self) -> str:
        """A short hash of the resolved config, recorded in manifests."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


LIST_MODES = ("extend", "replace")


def _merge_list(key: str, base: list[Any], over: dict[str, Any]) -> list[Any]:
    """`{extend: [...]}` appends to the default list (an item with the `name` of a default item replaces it in
    place); `{replace: [...]}` replaces the list, as a plain list does."""
    if (
        len(over) != 1
        or next(iter(over)) not in LIST_MODES
        or not isinstance(next(iter(over.values())), list)
    ):
        raise StructuralError(
            f"{key}: a list setting is overridden by a plain list (replaces the defaults), {{extend: [...]}} "
            f"or {{replace: [...]}}; got keys {sorted(map(str, over))}"
        )
    mode, items = next(iter(over.items()))
    if mode == "replace":
        return list(items)
    out = list(base)
    names = [i.get("name") if isinstance(i, dict) else None for i in out]
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        if name is not None and name in names:
            out[names.index(name)] = item
        else:
            out.append(item)
    return out


def _deep_merge(base: dict[str, Any], over: dict[str, Any], path: str = "") -> dict[str, Any]:
    """Overrides win key by key; dicts merge; a list is replaced by a plain list, or extended/replaced with
    `{extend: [...]}` / `{replace: [...]}` (e.g. `tiers.problem_rules: {extend: [{name: ..., ...}]}`)."""
    out = dict(base)
    for k, v in over.items():
        key = f"{path}{k}"
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v, f"{key}.")
        elif isinstance(v, dict) and isinstance(out.get(k), list):
            out[k] = _merge_list(key, out[k], v)
        else:
            out[k] = v
    return out


def _read_yaml(path: Path, given: bool = False) -> dict[str, Any]:
    """The sections of a config file; `given` for the user's `--config`, which must hold settings."""
    data = (read_yaml_settings(path, "config") if given else read_yaml(path, "config")) or {}
    if not isinstance(data, dict):
        raise StructuralError(f"config {path} must be a mapping of sections")
    return data


def _number_fields_given_true_false(model: type[BaseModel], data: Any, path: str = "") -> list[str]:
    """The keys of `data` where a number setting is given `true`/`false` (pydantic would read it as 1/0:
    `horizon_days: true` became a 1-day horizon). Walks nested settings, lists and mappings of them."""
    import types
    import typing

    def numeric(tp: Any) -> bool:
        return tp in (int, float) or any(numeric(a) for a in typing.get_args(tp) if a is not bool)

    def models(tp: Any) -> list[type[BaseModel]]:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return [tp]
        return [m for a in typing.get_args(tp) for m in models(a)]

    def check(tp: Any, value: Any, where: str) -> list[str]:
        origin = typing.get_origin(tp)
        if isinstance(value, bool):
            accepts_bool = tp is bool or bool in typing.get_args(tp) or tp is Any
            return [where] if numeric(tp) and not accepts_bool else []
        if isinstance(value, dict):
            if origin is dict:
                return [p for k, v in value.items() for p in check(typing.get_args(tp)[1], v, f"{where}.{k}")]
            return [p for m in models(tp)[:1] for p in _number_fields_given_true_false(m, value, f"{where}.")]
        if isinstance(value, list) and origin in (tuple, list):
            args = [a for a in typing.get_args(tp) if a is not Ellipsis]
            return (
                [p for i, v in enumerate(value) for p in check(args[0], v, f"{where}[{i}]")] if args else []
            )
        if origin in (typing.Union, types.UnionType):
            return [p for a in typing.get_args(tp) for p in check(a, value, where)][:1]
        return []

    if not isinstance(data, dict):
        return []
    hints = typing.get_type_hints(model)
    return [p for k, v in data.items() if k in hints for p in check(hints[k], v, f"{path}{k}")]


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> AppConfig:
    """Defaults from `configs/default.yaml`, then `path`, then `overrides` (e.g. from CLI flags).

    The defaults file is part of the product: without it there are no settings (the code holds no defaults),
    so a missing one is a StructuralError naming the file.
    """
    if not DEFAULT_CONFIG.is_file():
        raise StructuralError(
            f"the default configuration {DEFAULT_CONFIG} is missing: it ships with customer-value-predictor "
            "(package data of `configs`); reinstall the package"
        )
    data = _read_yaml(DEFAULT_CONFIG)
    if path is not None:
        data = _deep_merge(data, _read_yaml(path, given=True))
    if overrides:
        data = _deep_merge(data, overrides)
    given_bools = _number_fields_given_true_false(AppConfig, data)
    if given_bools:
        raise StructuralError(
            f"invalid configuration{f' in {path}' if path else ''}: {', '.join(given_bools)} must be a number, "
            "not true/false (it would be read as 1/0)"
        )
    try:
        cfg = AppConfig.model_validate(data)
    except ValidationError as exc:
        problems = _config_problems(exc, _read_yaml(DEFAULT_CONFIG))
        raise StructuralError(
            f"invalid configuration{f' in {path}' if path else ''}: " + "; ".join(problems)
        ) from exc
    cfg._written = data
    non_finite = _non_finite(cfg.model_dump())
    if non_finite:
        raise StructuralError(
            f"invalid configuration{f' in {path}' if path else ''}: {', '.join(non_finite)}: a setting must be a "
            "finite number (`null` where the setting allows none)"
        )
    return cfg


def _non_finite(value: Any, where: str = "") -> list[str]:
    """The keys of resolved settings holding an infinite or NaN number (`.inf`, `.nan`, `"inf"`): pydantic accepts
    them wherever no bound excludes them (`features.service_hourly_cost: .inf` made every cost to serve infinite,
    a `seasonal_profile` weight `.inf` passed as positive)."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [f"{where} = {value}"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _non_finite(v, f"{where}.{k}" if where else str(k))]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _non_finite(v, f"{where}[{i}]")]
    return []


def _key_places(section: Any, name: str, where: tuple[str, ...] = ()) -> list[str]:
    """Where the default config holds a key `name` (`labels.horizon_days` for `horizon_days`), nested sections
    walked; setting names only (a `date_formats` or `max_values` entry is the user's own)."""
    if not isinstance(section, dict):
        return []
    here = [".".join((*where, name))] if name in section and where else []
    return here + [p for k, v in section.items() for p in _key_places(v, name, (*where, str(k)))]


def _config_problems(exc: ValidationError, defaults: dict[str, Any]) -> list[str]:
    """Pydantic's errors as one line each, by key: `labels.horizon_days = -30: must be greater than 0`, an unknown
    key with the key it resembles among those its section has (`configs/default.yaml` holds every key)."""
    from features.names import did_you_mean

    out = []
    errors = exc.errors()
    # With `features` invalid its windows are unknown, so every `{w_long}` column reads as an unfilled placeholder:
    # consequences, not problems of their own (was: two more lines per default rule after `windows_days: [90, 90]`).
    windows_unknown = any(str((e.get("loc") or ("",))[0]) == "features" for e in errors)
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        key = ".".join(loc)
        given = err.get("input")
        if windows_unknown and isinstance(given, str) and ("{w_long}" in given or "{w_short}" in given):
            continue
        if err.get("type") == "extra_forbidden":
            section: Any = defaults
            for part in loc[:-1]:
                section = section.get(part) if isinstance(section, dict) else None
            known = list(section) if isinstance(section, dict) else []
            guess = did_you_mean(loc[-1], known) if loc else None
            hint = f"did you mean {'.'.join([*loc[:-1], guess])!r}?" if guess else ""
            if (
                not hint and loc and (elsewhere := _key_places(defaults, loc[-1]))
            ):  # a key in the wrong section
                hint = f"{loc[-1]!r} is a key of another section: {' or '.join(map(repr, elsewhere[:3]))}"
            if not hint and known:
                hint = "known keys here: " + ", ".join(known)
            out.append(f"unknown key {key!r}" + (f" ({hint})" if hint else ""))
            continue
        msg = (
            str(err.get("msg", "invalid")).removeprefix("Value error, ").replace("Input should", "should", 1)
        )
        shown = "" if isinstance(given, dict | list) else f" = {given!r}"
        out.append(f"{key}{shown}: {msg}" if key else msg)
    return out
