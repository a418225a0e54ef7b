"""Report settings (the `report:` section of configs/default.yaml) and where the pages were written.

Light on purpose: `pipelines.config` imports `ReportConfig`, so this module imports pydantic only (no pandas).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: The CSS named colours (CSS Color Module Level 4), the only colour names accepted in `tier_colors`.
CSS_COLOR_NAMES: frozenset[str] = frozenset(
    """
    aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet
    brown burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan
    darkblue darkcyan darkgoldenrod darkgray darkgreen darkgrey darkkhaki darkmagenta darkolivegreen
    darkorange darkorchid darkred darksalmon darkseagreen darkslateblue darkslategray darkslategrey
    darkturquoise darkviolet deeppink deepskyblue dimgray dimgrey dodgerblue firebrick floralwhite
    forestgreen fuchsia gainsboro ghostwhite gold goldenrod gray green greenyellow grey honeydew
    hotpink indianred indigo ivory khaki lavender lavenderblush lawngreen lemonchiffon lightblue
    lightcoral lightcyan lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon
    lightseagreen lightskyblue lightslategray lightslategrey lightsteelblue lightyellow lime
    limegreen linen magenta maroon mediumaquamarine mediumblue mediumorchid mediumpurple
    mediumseagreen mediumslateblue mediumspringgreen mediumturquoise mediumvioletred midnightblue
    mintcream mistyrose moccasin navajowhite navy oldlace olive olivedrab orange orangered orchid
    palegoldenrod palegreen paleturquoise palevioletred papayawhip peachpuff peru pink plum
    powderblue purple rebeccapurple red rosybrown royalblue saddlebrown salmon sandybrown seagreen
    seashell sienna silver skyblue slateblue slategray slategrey snow springgreen steelblue tan teal
    thistle tomato turquoise violet wheat white whitesmoke yellow yellowgreen
    """.split()
)


class ReportConfig(BaseModel):
    """What the reports say and show: the `report:` section of configs/default.yaml, the one place its values
    live (every field is required; tests and callers get one from `pipelines.config.load_config().report`).

    Attributes:
        actions: tier -> recommended action, in plain words; the key order is the order tiers are shown in
            (tiers found in the scores but not listed here come last, with no action).
        flag_phrases: flag -> plain-language warning shown to account managers (unknown flags are shown with
            underscores turned into spaces).
        tier_reasons: why a customer is in their tier, in plain words, by `models.tiers.reason_key` (problem
            rule names, `great`, the good reasons of `models.tiers.GOOD_REASONS`, `catch_all`; `missing_data`
            is added when some checks lacked data, `kept` with `{tier}` and `{raw}` for the stability rule);
            a key without a phrase is said as its name in words.
        tier_colors: tier -> badge and chart colour (CSS hex); unlisted tiers are grey.
        top_customers_per_manager: waterfall charts per manager page (the manager's most valuable customers).
        page_all_customers_up_to: a manager's page lists every one of their customers up to this many; a larger
            book's page lists those at risk of leaving first and the top `page_customers_per_tier` of each tier,
            and every customer goes to a CSV file beside the page (`pipelines.reports.book`).
        page_customers_per_tier: on such a page, the customers listed per tier (and at risk of leaving).
        waterfall_features: features shown by name in a waterfall; the rest are summed into one "other" step.
        high_churn_prob: churn probability from which a customer's risk of leaving is shown in red.
        pareto_top_share: the share of most valuable customers whose share of profit and of service effort the
            team page states (the 80/20 rule: 0.2).
        rejected_rows_banner_share: the share of a table's rows (or a mapping source's) rejected at loading from
            which every page says so at its top; below it only the model card does (one rejected row of 28,000
            is no alarm).
        currency: the currency every money column is in (must match the model card's, when it states one).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    actions: dict[str, str]
    flag_phrases: dict[str, str]
    tier_reasons: dict[str, str]
    tier_colors: dict[str, str]
    top_customers_per_manager: int = Field(ge=0)
    page_all_customers_up_to: int = Field(ge=0)
    page_customers_per_tier: int = Field(ge=1)
    waterfall_features: int = Field(ge=1)
    high_churn_prob: float = Field(gt=0, le=1)
    pareto_top_share: float = Field(gt=0, lt=1)
    rejected_rows_banner_share: float = Field(ge=0, le=1)
    currency: str

    @field_validator("tier_colors")
    @classmethod
    def _colors_are_css_colours(cls, v: dict[str, str]) -> dict[str, str]:
        """Colours are pasted into CSS: only `#rgb`, `#rrggbb` or a named CSS colour (letters only) pass."""
        for tier, colour in v.items():
            if not (
                re.fullmatch(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})", colour)
                or colour.lower() in CSS_COLOR_NAMES
            ):
                raise ValueError(
                    f"tier_colors.{tier}: {colour!r} is not a colour; use #rgb, #rrggbb or a CSS colour name"
                )
        return v


@dataclass(frozen=True)
class ReportPaths:
    """Where the pages were written: the team page, one page per manager id, and the unassigned page."""

    index: Path
    managers: dict[str, Path] = field(default_factory=dict)
    unassigned: Path | None = None
