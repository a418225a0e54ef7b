"""The demo company's fixed parameters: archetypes, category labels and their probabilities, the latent
behaviour profiles of the three archetypes, fake-name lists; and the two categorical draws that read them."""

from __future__ import annotations

import numpy as np

from features.contract import TABLES

ARCHETYPES: tuple[str, ...] = ("great", "good", "problem")
#: The contract tables the demo company has (all but the optional assignment history).
TABLE_NAMES: tuple[str, ...] = tuple(t for t in TABLES if t != "assignments")
RETURN_REASONS: tuple[str, ...] = (
    "damaged",
    "wrong_item",
    "not_as_described",
    "changed_mind",
    "quality",
    "late_delivery",
)
CHANNELS: tuple[str, ...] = ("web", "mobile_app", "store", "sales_rep", "edi")
SEGMENTS: tuple[str, ...] = ("B2C", "B2B")
SIZES: tuple[str, ...] = ("individual", "small", "medium", "large", "enterprise")
REGIONS: tuple[str, ...] = ("North", "South", "East", "West", "International")
ACQUISITION_CHANNELS: tuple[str, ...] = (
    "organic_search",
    "paid_search",
    "marketplace_deal",
    "sales_outbound",
    "partner",
    "event",
    "referral",
)

_DAYS_PER_YEAR = 365.25
_SECONDS_PER_DAY = 86_400
_PAYMENT_TERMS_DAYS = 30
_MANAGER_BIN_DAYS = 30.0
# Losing the relationship owner multiplies the churn hazard for a year, after which a new owner has bonded.
_MANAGER_SHOCK_MULTIPLIER = 4.0
_MANAGER_SHOCK_DAYS = 365.0
# Share of customers reserved to be acquired by word of mouth; unused reservations fall back to organic.
_REFERRAL_POOL_SHARE = 0.18
_MAX_LIFETIME_DAYS = 100 * 365.0

# Archetype mix of organic acquisitions and of referred ones (great customers bring in their like).
_ARCHETYPE_SHARE_ORGANIC = np.array([0.18, 0.62, 0.20])
_ARCHETYPE_SHARE_REFERRED = np.array([0.45, 0.42, 0.13])

# Median behaviour of a pure archetype (great, good, problem). A customer blends them with its archetype
# weights: positive rates geometrically, probabilities on the logit scale, then adds individual noise.
_RATE_PROFILE: dict[str, tuple[float, float, float]] = {
    "purchase_rate_per_year": (5.5, 5.0, 3.5),
    "order_value_multiplier": (1.3, 1.0, 0.8),
    "negotiated_discount_rate": (0.008, 0.03, 0.12),
    "service_need_per_year": (0.8, 0.5, 5.0),
    "effort_median_minutes": (20.0, 15.0, 60.0),
    "resolution_median_hours": (8.0, 6.0, 36.0),
    "referral_rate_per_year": (0.45, 0.04, 0.01),
    "churn_hazard_per_year": (0.08, 0.45, 0.30),
}
_RATE_NOISE_SD: dict[str, float] = {
    "purchase_rate_per_year": 0.5,
    "order_value_multiplier": 0.7,
    "negotiated_discount_rate": 0.4,
    "service_need_per_year": 0.5,
    "effort_median_minutes": 0.3,
    "resolution_median_hours": 0.3,
    "referral_rate_per_year": 0.5,
    "churn_hazard_per_year": 0.4,
}
_PROB_PROFILE: dict[str, tuple[float, float, float]] = {
    "margin_rate": (0.50, 0.42, 0.35),
    "promo_affinity": (0.05, 0.60, 0.20),
    "return_propensity": (0.02, 0.07, 0.18),
    "late_payment_prob": (0.03, 0.08, 0.45),
    "dispute_prob": (0.002, 0.01, 0.12),
    "escalation_prob": (0.02, 0.04, 0.25),
}
_PROB_NOISE_SD: dict[str, float] = {
    "margin_rate": 0.3,
    "promo_affinity": 0.6,
    "return_propensity": 0.5,
    "late_payment_prob": 0.5,
    "dispute_prob": 0.5,
    "escalation_prob": 0.5,
}
_SATISFACTION_MEAN = np.array([4.6, 4.0, 2.2])

# Ticket kind probabilities (columns follow TICKET_KINDS) by archetype, for B2C then B2B customers.
_KIND_PROBS = np.array(
    [
        [[0.40, 0.05, 0.05, 0.30, 0.05, 0.15], [0.30, 0.05, 0.05, 0.25, 0.30, 0.05]],  # great
        [[0.40, 0.10, 0.15, 0.20, 0.00, 0.15], [0.35, 0.10, 0.15, 0.20, 0.15, 0.05]],  # good
        [[0.15, 0.45, 0.20, 0.10, 0.00, 0.10], [0.10, 0.40, 0.20, 0.10, 0.15, 0.05]],  # problem
    ]
)
# Return reason probabilities (columns follow RETURN_REASONS) by archetype.
_REASON_PROBS = np.array(
    [
        [0.35, 0.25, 0.15, 0.05, 0.10, 0.10],
        [0.15, 0.15, 0.15, 0.35, 0.10, 0.10],
        [0.10, 0.10, 0.30, 0.15, 0.30, 0.05],
    ]
)
# Preferred order channel (columns follow CHANNELS) for B2C and B2B customers.
_CHANNEL_PROBS = np.array([[0.55, 0.30, 0.15, 0.00, 0.00], [0.35, 0.00, 0.00, 0.45, 0.20]])
# B2B company size (columns follow SIZES) and its effect on basket value and order frequency.
_B2B_SIZE_PROBS = np.array([0.0, 0.50, 0.30, 0.15, 0.05])
_SIZE_VALUE_MULTIPLIER = np.array([1.0, 0.8, 1.2, 2.0, 4.0])
_SIZE_RATE_MULTIPLIER = np.array([1.0, 1.0, 1.3, 1.6, 2.0])
# Median list-price basket of a B2C and of a B2B customer, before archetype and size effects.
_BASE_ORDER_VALUE = np.array([55.0, 150.0])
_REGION_PROBS = np.array([0.25, 0.20, 0.20, 0.25, 0.10])
# Organic acquisition channel (columns follow ACQUISITION_CHANNELS) by archetype: deal hunters come via deals.
_ACQUISITION_PROBS = np.array(
    [
        [0.35, 0.15, 0.05, 0.15, 0.15, 0.15, 0.0],
        [0.25, 0.30, 0.25, 0.05, 0.10, 0.05, 0.0],
        [0.25, 0.25, 0.20, 0.15, 0.10, 0.05, 0.0],
    ]
)

_FIRST_NAMES = (
    "Ada Alan Amara Ana Ben Bianca Carlos Chen Chloe Dana David Elena Emil Farah Felix Grace Hana Hugo Ines "
    "Ivan Jade Jonas Kai Karin Lena Leo Liam Lucia Maya Mateo Mia Nadia Noah Nora Omar Oscar Priya Quinn Rafael "
    "Rosa Sam Sara Sofia Tariq Theo Uma Vera Wei Yara Zoe"
).split()
_LAST_NAMES = (
    "Abbott Alvarez Baker Becker Brennan Castillo Chowdhury Cole Dubois Eriksen Fischer Fontaine Garcia Hale "
    "Hansen Ibrahim Ivanova Jensen Kaur Kim Kowalski Larsen Lopez Moreau Murphy Nakamura Novak Okafor Olsen "
    "Patel Petrov Quinlan Rossi Santos Schmidt Silva Singh Sorensen Tanaka Torres Ueda Varga Vogel Walsh Weber "
    "Xu Yilmaz Young Zhang Zimmer"
).split()
_COMPANY_SUFFIXES = "Ltd GmbH Inc LLC Group Partners Trading Holdings Supplies Works".split()


def _draw_categorical(probs: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Category codes drawn from one probability vector."""
    cum = np.cumsum(probs)
    return np.minimum(np.searchsorted(cum / cum[-1], rng.random(size), side="right"), len(probs) - 1)


def _draw_categorical_rows(table: np.ndarray, row: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Category codes where draw ``i`` follows the distribution in row ``row[i]`` of ``table``."""
    cum = np.cumsum(table, axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(len(row))
    codes = np.empty(len(row), dtype=np.int64)
    for r in range(len(table)):  # a handful of profiles, never one iteration per customer or event
        mask = row == r
        codes[mask] = np.searchsorted(cum[r], u[mask], side="right")
    return np.minimum(codes, table.shape[1] - 1)
