"""The resolved configuration: one YAML file parsed once into frozen, typed settings that reject unknown keys.

`configs/default.yaml` holds every default; `--config FILE` overrides any subset (deep-merged over the defaults).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from features.config import FeatureConfig, LabelConfig
from features.validation import StructuralError, check_date_format, check_timezone
from models.config import ModelConfig
from models.explain import ExplainConfig
from models.tiers import TierConfig
from pipelines.report import ReportConfig

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "configs" / "default.yaml"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _contract_column(key: str, kinds: tuple[str, ...]) -> tuple[str, str]:
    from features.contract import TABLES
    from features.validation import did_you_mean

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
    timezone: str = "UTC"
    currency: str = "EUR"
    # Non-ISO date formats, declared per `table.column` (strftime): {"orders.ordered_at": "%d/%m/%Y"}.
    # Undeclared columns must be ISO 8601; nothing is guessed.
    date_formats: dict[str, str] = Field(default_factory=dict)
    # Sanity bounds per `table.column` (money/number): a value above is a row reject naming the bound.
    max_values: dict[str, float] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        return check_timezone(v)

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
    customers: int = Field(3000, gt=0)
    start: str = "2021-01-01"
    end: str = "2025-12-31"
    seed: int = 7


class ScoringConfig(_Frozen):
    chunk_customers: int = Field(100_000, gt=0)  # customers per chunk: bounds peak memory beyond the input
    psi_threshold: float = Field(0.2, gt=0)  # population stability index above which a column has drifted


class MlflowConfig(_Frozen):
    tracking_dir: str = "mlruns"
    experiment: str = "customer-value"
    registered_model: str = "customer-value"


class AppConfig(_Frozen):
    data: DataConfig = DataConfig()
    demo: DemoConfig = DemoConfig()
    features: FeatureConfig = FeatureConfig()
    labels: LabelConfig = LabelConfig()
    models: ModelConfig = ModelConfig()
    tiers: TierConfig = TierConfig()
    explain: ExplainConfig = ExplainConfig()
    report: ReportConfig = ReportConfig()
    scoring: ScoringConfig = ScoringConfig()
    mlflow: MlflowConfig = MlflowConfig()

    def digest(self) -> str:
        """A short hash of the resolved config, recorded in manifests."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_bytes().decode("utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise StructuralError(
            f"config {path} is not UTF-8 text (byte {exc.start}: {exc.object[exc.start : exc.start + 1]!r}); "
            "save it as UTF-8"
        ) from None
    except (OSError, yaml.YAMLError) as exc:
        raise StructuralError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise StructuralError(f"config {path} must be a mapping of sections")
    return data


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> AppConfig:
    """Defaults from `configs/default.yaml`, then `path`, then `overrides` (e.g. from CLI flags)."""
    data = _read_yaml(DEFAULT_CONFIG) if DEFAULT_CONFIG.exists() else {}
    if path is not None:
        data = _deep_merge(data, _read_yaml(path))
    if overrides:
        data = _deep_merge(data, overrides)
    try:
        return AppConfig.model_validate(data)
    except ValidationError as exc:
        raise StructuralError(f"invalid configuration{f' in {path}' if path else ''}:\n{exc}") from exc
