"""How old the data is against `cvp score --as-of`: the one rule of scoring data that ends before the as-of.

Every point-in-time feature reads the days between the data's end and the as-of as days without an order, a
payment or a ticket: scored months after an export ended, every customer looks that much quieter than they are
(recency, the short windows emptied), so churn risk is overstated, expected value understated, great customers
drop to good and customers turn `lapsed` for want of data. A few quiet days are normal (`labels.max_days_past_data`,
the days `cvp train` allows past the data's end): beyond them the run says so, a `warning:` listed under the
manifest's `warnings` and its `stale_data`, and the reports say it at the top of every page
(`pipelines.reports.phrases.stale_data_banner`); beyond `labels.max_lapse_days` (every customer would be lapsed)
the run stops unless `--allow-stale`. The way out is the as-of the data can answer: the day after its last order.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from features.config import LabelConfig
from features.validation import StructuralError
from pipelines.loading import days_past_data


def check_data_age(
    last: pd.Timestamp,
    as_of: pd.Timestamp,
    labels: LabelConfig,
    allow_stale: bool,
    warn: Callable[[str], None],
) -> str | None:
    """What `cvp score` says about data whose last order is `last` scored as of `as_of`: None when it ends within
    `labels.max_days_past_data` days of the as-of; else the warning given to `warn` (and returned, the manifest's
    `stale_data`). More than `labels.max_lapse_days` after the last order: a StructuralError unless
    `allow_stale` (was the only check: data ending up to two years before the as-of scored with exit 0, silent)."""
    end, gap = days_past_data(last, as_of)  # `check_as_of`'s measure
    since = (as_of - last) / pd.Timedelta(days=1)
    way_out = f"score with --as-of {end.date()} (the data as it ends), or export the missing days"
    lapse = labels.max_lapse_days
    if lapse is not None and since > lapse:
        stale = (
            f"--as-of {as_of.date()} is {since:.0f} days after the last order ({last.date()}), more than "
            f"labels.max_lapse_days ({lapse}): the data looks stale"
        )
        if not allow_stale:
            raise StructuralError(
                f"{stale}. Export fresh data, {way_out}, or pass --allow-stale to score it anyway."
            )
        warn(f"{stale} (scored anyway: --allow-stale)")
        return stale
    if gap <= labels.max_days_past_data:
        return None
    stale = (
        f"the data ends on {last.date()} (its last order), {gap:.0f} days before --as-of {as_of.date()} "
        f"(labels.max_days_past_data allows {labels.max_days_past_data}): every customer reads those days as days "
        "without an order, so churn risk is overstated, expected value understated and customers may show as lapsed "
        f"for want of data; {way_out}"
    )
    warn(stale)
    return stale
