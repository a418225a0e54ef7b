"""Words and numbers for people: money, shares, horizon and churn phrases, feature and group labels, flags."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from features.profile_names import profile_column
from pipelines.metric_names import METRIC_LABELS, METRIC_WORDS

# Bidi embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI): in a name they reorder what
# follows on the line ("NAME<RLO>" shows the customer's value after it reversed, `$1,234` as `432,1$`). Natural
# right-to-left text needs none of them.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def isolated(text: Any, css: str = "who") -> Markup:
    """A name, id or category from the data as every page shows it, alone in a cell or inside a sentence: its bidi
    controls dropped, escaped, in an element the pages' stylesheet isolates (`.name, .who`: `unicode-bidi:
    isolate`), so a right-to-left name never takes the text beside it into its run. The one rule: the templates'
    `isolated` filter and every sentence built with a name (`Markup(...).format(isolated(name))`: "moved to
    <name> (AM0002)", round 37, was bare). `css`: "name" (a customer's, in bold) or "who"."""
    # markup already (`escape(text)` semantics): kept as it is, not escaped again; text escaped by the format
    markup = hasattr(text, "__html__")
    inner = BIDI_CONTROLS.sub("", str(text.__html__() if markup else text))
    return Markup('<span class="{}">{}</span>').format(css, Markup(inner) if markup else inner)


def horizon_phrases(days: int) -> tuple[str, str]:
    """("within a year", "next year") style phrases for a horizon in days."""
    if days % 365 == 0:
        years = days // 365
        return (
            ("within a year", "next 12 months")
            if years == 1
            else (f"within {years} years", f"next {years} years")
        )
    return f"within {days} days", f"next {days} days"


def churn_phrase(prob: float, within: str) -> str:
    """'38% likely to stop buying within a year' (never prints 0% or 100% for a non-certain probability)."""
    if prob is None or (isinstance(prob, float) and math.isnan(prob)):
        return "Risk of leaving unknown"
    percent = round(float(prob) * 100)
    if percent == 0 and prob > 0:
        return f"Less than 1% likely to stop buying {within}"
    if percent == 100 and prob < 1:
        return f"More than 99% likely to stop buying {within}"
    return f"{percent}% likely to stop buying {within}"


def coverage_phrase(low_quantile: float, high_quantile: float) -> str:
    """How often the real figure falls inside a (low, high) quantile interval: "8 times out of 10" for P10-P90,
    "9 times out of 10" for P5-P95, "96% of the time" when tenths do not say it."""
    share = high_quantile - low_quantile
    tenths = share * 10
    if abs(tenths - round(tenths)) < 1e-9:
        return f"{round(tenths)} times out of 10"
    return f"{round(share * 100)}% of the time"


def _whole(value: float) -> float:
    """`value` in whole units, as shown: rounded once, so -0.3 is 0 (not "-0") and a sign is the rounded value's."""
    return round(float(value)) + 0.0


def money(value: float, currency: str, sign: bool = False) -> str:
    """ "1,234 EUR"; with `sign`, a rise reads "+1,234 EUR" (0 unsigned: "0 EUR", never "-0 EUR" or "+0 EUR")."""
    if value is None or not np.isfinite(value):
        return "unknown"
    return f"{signed(value) if sign else f'{_whole(value):,.0f}'} {currency}".rstrip()


def signed(value: float) -> str:
    """ "+12", "-3", and "0" for anything that rounds to 0 (was: "-0" for -0.3, "+0" for 0.3)."""
    whole = _whole(value)
    return f"{whole:+,.0f}" if whole else "0"


def pct(value: float) -> str:
    """ "38%"; a share that rounds to 0% or 100% (either sign) without being it keeps a decimal, "0.4%", "99.6%",
    "-99.6%", then "about 0%" / "about 100%" / "about -100%" (round 36, was: "0%" of the customers for a tier of 3
    in 5,000, "100%" chance of becoming great for a new customer at 0.996, "-0%" of the expected value;
    `churn_phrase` says its own "less than 1%")."""
    if value is None or not np.isfinite(value):
        return "n/a"
    value = float(value)
    size = abs(value)  # the sign does not decide how a share is rounded: -0.996 as 0.996
    if size in (0.0, 1.0) or round(size * 100) not in (0, 100):
        return f"{value + 0.0:.0%}"  # + 0.0: never "-0%"
    sign = "-" if value < 0 else ""
    text = f"{size:.1%}"
    if float(text[:-1]) not in (0.0, 100.0):
        return sign + text
    return "about 0%" if size < 0.5 else f"about {sign}100%"


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return value is pd.NA or (isinstance(value, str) and not value.strip())


def css_token(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]", "-", str(text).lower())


def feature_label(name: str, registry: Mapping[str, Any]) -> str:
    """A short plain label for a feature: the head of its description plus its window ("Net profit, 365 days")."""
    spec = registry.get(name)
    if spec is None:
        return name.replace("_", " ")
    head = re.split(r":| \(| / ", spec.description, maxsplit=1)[0].strip()
    window = getattr(spec, "window_days", None)
    if window is not None and "in the last" not in head:
        return f"{head}, last {window} days"
    if name.endswith("_lifetime") and "before the cutoff" not in head:
        return f"{head}, all time"
    return head.replace(" before the cutoff", ", all time")


def to_date(text: str) -> str:
    """A reason or a feature's description as a manager reads it: the registry's period of an all-time figure,
    "before the cutoff" (`features.registry`), said "to date" (round 37, was: "invoices paid 213 days late on
    average before the cutoff" on the manager pages; a manager knows no cutoff, only the scores' date)."""
    return text.replace(" before the cutoff", " to date")


#: What follows a reason's subject in its sentence (`models.reason_text`: "... raises expected profit by about 30 EUR").
_REASON_VERB = re.compile(r" (?:raises|lowers|raise|lower) (?:expected profit|churn risk) by ")
#: A new customer's reason naming one of their categories (`models.lookalike._reason_words`: "acquisition channel:
#: <value> (raises the chance)").
_LOOKALIKE_CATEGORY = re.compile(
    r"^(?P<label>[^:]+: )(?P<value>.+)(?P<rest> \((?:raises|lowers) the chance\))$", re.S
)


def _with_value_isolated(text: str, start: int, end: int) -> Markup:
    return Markup("{}{}{}").format(text[:start], isolated(text[start:end]), text[end:])


@functools.lru_cache(maxsize=4096)
def _category_words(feature: str) -> tuple[str, str] | None:
    """The reason words around a category's value ("having come through ", ""), None for a feature of another
    kind (`features.registry.reason_words`); once per feature, not per reason."""
    from features.registry import feature_spec, reason_words

    try:
        if feature_spec(feature).dtype != "category":
            return None
    except KeyError:
        return None
    before, _, after = reason_words(feature)[0].phrase.partition("{value}")
    return before, after


def reason_isolated(text: str, feature: object) -> str | Markup:
    """A reason sentence as a page shows it (`to_date`), a category from the data inside it isolated (`isolated`;
    round 38, was bare: "having come through <a right-to-left channel> lowers expected profit by about 30 EUR"
    showed the amount and the words beside it inside the channel's run). The value is found by the registry's
    words of the reason's feature (`features.registry.reason_words`, "having come through {value}"): after their
    words before the value, up to the last verb of the sentence. Other reasons are returned as text (the pages
    escape it and drop its bidi controls), a category's as markup."""
    said = to_date(text)
    words = _category_words(str(feature))
    if words is None:
        return said
    said = BIDI_CONTROLS.sub("", said)  # markup from here: `pages._plain_text` does not see it
    before, after = words
    ends = [m.start() for m in _REASON_VERB.finditer(said, len(before))]
    if said.startswith(before) and ends and said[: ends[-1]].endswith(after):
        end = ends[-1] - len(after)
        if end > len(before):
            return _with_value_isolated(said, len(before), end)
    return said


def lookalike_reason_isolated(text: str) -> Markup:
    """A new customer's reason as a page shows it, the category it names isolated ("acquisition channel: <value>
    (raises the chance)"; round 38, was bare); other reasons escaped as they are."""
    said = BIDI_CONTROLS.sub("", to_date(text))  # markup from here: `pages._plain_text` does not see it
    m = _LOOKALIKE_CATEGORY.match(said)
    if m is None:
        return Markup("{}").format(said)
    return _with_value_isolated(said, m.start("value"), m.end("value"))


BASE_WORDS = "A typical customer: where every customer starts before their own figures"


def plain_feature(name: str, registry: Mapping[str, Any]) -> str:
    """What a manager page's hover text says of a contribution column: the registry's plain label, `_base` as a
    typical customer; never the column name (the scores file and the data-scientist outputs keep those)."""
    from models.explain import BASE_COLUMN

    if name == BASE_COLUMN:
        return BASE_WORDS
    if name in registry:
        return feature_label(name, registry)
    if name.startswith("btyd_"):
        return "An estimate from their buying pattern"
    return name.replace("_", " ").capitalize()


def metric_words(metric: str, currency: str = "the model's currency") -> str:
    """A backtest metric in a team lead's words (`pipelines.metric_names`, the raw name is shown beside them for a
    data scientist), an amount's unit said (was: "Mean absolute error (per customer ...)" 208.072, no currency);
    an unknown one as its name in words."""
    return METRIC_WORDS.get(metric, metric.replace("_", " ").capitalize()).replace("{currency}", currency)


def card_label(metric: str) -> str:
    """A backtest metric's short column label on the model card: the console's (`METRIC_LABELS`), but the range
    coverage said as "coverage" (the card does not know the run's quantiles, the console's "P10-P90" does)."""
    if metric == "value_interval_coverage":
        return "coverage"
    return METRIC_LABELS.get(metric, metric.split("_", 1)[-1].replace("_", " "))


def group_label(group: str) -> str:
    return group.replace("_", " ").capitalize()


def flags_plain(flags: Any, phrases: Mapping[str, str]) -> list[str]:
    if is_blank(flags):
        return []
    tokens = [f.strip() for f in str(flags).split(";") if f.strip()]
    return [phrases.get(f, f.replace("_", " ").capitalize()) for f in tokens]


def tier_reason_plain(reason: Any, phrases: Mapping[str, str]) -> str:
    """The tier's reason in a manager's words (`report.tier_reasons`, keyed by `models.tiers.reason_key`): never
    the rule with its columns (`problem: cost_to_serve_share (profit_cost_to_serve_365d > ...)`). A key without
    a phrase is said as its name in words; the stability rule's note keeps both tiers."""
    from models.tiers import KEPT_REASON, reason_key

    if is_blank(reason):
        return ""
    text = str(reason)
    key, unchecked = reason_key(text)
    if key == "kept":
        kept = KEPT_REASON.match(text)
        return phrases.get("kept", "").format(tier=kept["tier"], raw=kept["raw"]) if kept else ""
    if not key:  # not a reason `models.tiers` writes: already someone's words
        return text
    said = phrases.get(key, key.replace("_", " ").capitalize())
    if unchecked and phrases.get("missing_data"):
        said = f"{said} ({phrases['missing_data']})" if said else phrases["missing_data"].capitalize()
    return said


def _set_aside(manifest: Mapping[str, Any]) -> bool:
    """The scores' model was neither in production nor under evaluation (its recorded aliases lack `challenger`):
    an earlier or set-aside model. Unrecorded aliases: not said (under evaluation, as before)."""
    aliases = manifest.get("model_aliases")
    return aliases is not None and "challenger" not in aliases


def _not_champion_then(manifest: Mapping[str, Any]) -> bool:
    """The scores' model was not the champion when they were made (the manifest's `champion_version`; runs that
    did not record it: not said)."""
    champion = manifest.get("champion_version")
    return champion is not None and str(champion) != str(manifest.get("model_version", ""))


def scored_by(manifest: Mapping[str, Any]) -> str | None:
    """Whose model made a run's scores when it was not the champion then (the manifest's, or a history run's
    `champion_version` and `model_aliases`): "challenger" (under evaluation, or of no known alias) or "set aside"
    (an earlier or set-aside model), the words of `provisional_label`; None for the champion's scores and runs that
    did not record it. `cvp history` marks such runs by it (round 28, was: listed as the champion's)."""
    if not _not_champion_then(manifest):
        return None
    return "set aside" if _set_aside(manifest) else "challenger"


def promoted_since(manifest: Mapping[str, Any], champion_now: str | None) -> str | None:
    """What the team page's model card says of scores made by a model that was not the champion then and is the
    champion now (`champion_now`: the registry's champion when the pages are made, `tracking_card.model_card`;
    None when unknown): they are the scores production's model gives, not provisional (round 27, was: "still
    being evaluated ... they may change once a model is confirmed for production" atop every page after `cvp
    models promote` had confirmed that very model). None otherwise."""
    version = str(manifest.get("model_version", ""))
    if not _not_champion_then(manifest) or champion_now is None or str(champion_now) != version:
        return None
    then = manifest["champion_version"]
    production = f"version {then} was in production" if then else "no model was in production"
    return (
        f"model version {version} made these scores when it was not in production ({production}); it is the "
        "production model since, so these are the scores production gives for this data and as-of"
    )


def provisional_scores(manifest: Mapping[str, Any], champion_now: str | None = None) -> str | None:
    """What the pages say when the scores come from a model that was not the champion when they were made (the
    manifest's `champion_version`; `cvp score --model ...@challenger`, or the demo's first model left a
    challenger): the numbers are provisional. None for the champion's scores, for runs that did not record it,
    and for a model that is the champion now (`champion_now`, the registry's: `promoted_since`)."""
    champion = manifest.get("champion_version")
    version = str(manifest.get("model_version", ""))
    if not _not_champion_then(manifest) or promoted_since(manifest, champion_now):
        return None
    production = f"the one in production was version {champion}" if champion else "no model was in production"
    if _set_aside(manifest):
        # (was: "still being evaluated" for a champion replaced since, scored by its version); production's scores
        # are pointed to only when there was a production model (was: "use them" with none in production)
        use = " Production's scores may differ; use them before acting on these." if champion else ""
        return (
            f"these scores come from model version {version}, neither in production nor under evaluation when "
            f"they were made ({production}): an earlier or set-aside model.{use}"
        )
    if champion_now is not None and str(champion_now) != str(champion):
        # a model confirmed for production since (this one promoted and replaced since, or another): said (review
        # of round 27, was: "they may change once a model is confirmed for production" with one confirmed)
        return (
            f"these scores come from model version {version}, still being evaluated when they were made "
            f"({production}); version {champion_now} is in production now: scores made now may differ. Treat "
            "them as provisional."
        )
    return (
        f"these scores come from model version {version}, still being evaluated when they were made "
        f"({production}). Treat them as provisional; they may change once a model is confirmed for production."
    )


def provisional_label(manifest: Mapping[str, Any]) -> str:
    """The word before `provisional_scores`' sentence atop every page and on the model card: "Provisional" for a
    model under evaluation (or of no known alias), "Not in production" for an earlier or set-aside one (was:
    "Provisional:" before "neither in production nor under evaluation ...: an earlier or set-aside model", as if
    the scores were to be confirmed; round 15's leftover)."""
    return "Not in production" if _set_aside(manifest) else "Provisional"


def left_company(left: str, as_of: str) -> str:
    """How the pages say an account manager left (`left`: the day, YYYY-MM-DD, "" when they have not), said as of
    the scores' date `as_of`: a day after it is "since" them (was: "left the company on 2025-11-03" on the pages of
    scores as of 2025-06-01, read as gone when the scores were made). "" when they have not left."""
    if not left:
        return ""
    later = as_of[:1].isdigit() and left > as_of  # both YYYY-MM-DD ("unknown": no as-of to compare with)
    return f"left the company on {left}" + (f", after the date of these scores ({as_of})" if later else "")


def rejected_rows_banner(rejected: str | None, share: float | None, from_share: float) -> str | None:
    """What every page says when rows of the run's data were rejected (the model card's `rejected_rows`:
    `pipelines.rejected_rows.rejected_warning`), `share` of a table's rows at most (`rejected_share`; None: a
    card without it, said) at least `from_share` (`report.rejected_rows_banner_share`): the pages are of the rows
    kept. None otherwise: fewer are said on the model card only."""
    if not rejected or (share is not None and share < from_share):
        return None
    return (
        f"{rejected}. A customer whose row was rejected is on no page, and a rejected order, return or ticket "
        "counts in no value, tier or risk: tiers and ranks are among the rows kept. The scoring run's rejects "
        "list each row with its reason; fix them and score again before relying on totals and ranks."
    )


def stale_data_banner(stale_data: str | None, as_of: str) -> str | None:
    """What every page says when the scores read data that ends well before their as-of (the manifest's
    `stale_data`, `pipelines.data_age`): the customers look less active than they are. None otherwise."""
    if not stale_data:
        return None
    return (
        f"these scores read data that ends well before their date ({as_of}): customers look less active than they "
        "are, so churn risk reads higher and expected value lower than they should. Ask for scores on fresh data "
        "before acting on them."
    )


#: What an export that stopped costs the scores, per `table.column` it stopped (`pipelines.data_age.stopped_inputs`'
#: warnings start with it): a table by its event time, a model input column by its name. The warnings and the
#: banner atop every page say the one matching the export named (was: every column's warning ended "orders.cost:
#: a guessed margin; invoices.paid_at: unpaid", the banner "no ticket ... no order" for a stopped cost).
STOPPED_MEANS: dict[str, str] = {
    "orders.ordered_at": "no order since: every customer quieter than they are",
    "returns.returned_at": "no return since: margins kept that were refunded",
    "tickets.opened_at": "no ticket since: no cost to serve, so a costly customer can read as good",
    "invoices.issued_at": "no invoice since: nothing billed, nothing overdue",
    "referrals.referred_at": "no referral since",
    "orders.cost": "a guessed margin on the orders since",
    "invoices.paid_at": "the invoices since read as unpaid, so overdue",
    "tickets.satisfaction": "no satisfaction score on the tickets since",
    "tickets.kind": "the tickets since of no kind",
}


def stopped_means(name: str) -> str:
    """`STOPPED_MEANS` of `name` (`table.column`); of one not listed, its rows or values since counted as none."""
    return STOPPED_MEANS.get(name, f"{name} read as empty since")


def stopped_tables_banner(stopped: str | None, names: list[str] | None = None) -> str | None:
    """What every page says when an export of the run's data stopped while its orders ran on: a table, or a model
    input column it stopped filling (the model card's `stopped_tables`: `pipelines.data_age.stopped_inputs`'
    warnings, each naming the `table.column` and its last day; `names`: those, `stopped_names`): what each
    costs the scores (`stopped_means`). None otherwise."""
    if not stopped:
        return None
    costs = "; ".join(f"{n}: {stopped_means(n)}" for n in names or ())
    return (
        f"{stopped}. What the stopped export would have held since counts in no value, tier or risk"
        f"{f' ({costs})' if costs else ''}. Ask for scores on the whole export before acting on them."
    )


def model_inputs_banner(differences: str | None) -> str | None:
    """What every page says when the model was trained on other tables or columns than the run's data has (the
    model card's `model_inputs`: the run's `input_column_differences`, in a data team's words). None otherwise."""
    if not differences:
        return None
    return (
        "the model behind these scores was trained on other data than this run read (a table or column one has "
        "and the other not: the team page's model card names them), so what it never learnt from (a cost to serve, "
        "late payments) may be missing from a customer's value, risk and tier. Ask your data team before acting "
        "on a close call."
    )


def champion_now_banner(now: str | None, version: Any) -> str | None:
    """What every page says when the model that made these scores has been replaced since (the model card's
    `champion_now_version`, `pipelines.tracking_card`): scores made now may differ. None otherwise."""
    if not now or str(now) == str(version):  # the scores' own model is the champion now: nothing replaced
        return None
    return (
        f"these scores were made by model version {version}, replaced since by version {now}: scores made now "
        "may differ, tiers included. Ask for new scores before acting on these."
    )


def unseen_profile_marks(
    ids: pd.Series, customers: pd.DataFrame | None, unseen: Mapping[str, Mapping[str, int]] | None
) -> pd.Series | None:
    """Each customer's mark beside them on their manager's page when their profile holds a category the model
    never saw in training (the model card's `unseen_values`: the run's `unseen_categories`, feature -> value ->
    customers; read by the model as unknown), "" for the others; index of `ids`. None when they cannot be told
    (pages made without the `customers` table, or an unseen category of no column of it): then every manager's
    page says so (`unseen_mine_line`)."""
    if not unseen:
        return pd.Series("", index=ids.index, dtype="str")
    columns = {f: profile_column(f) for f in unseen}
    if customers is None or not all(c is not None and c in customers for c in columns.values()):
        return None
    cust = customers.set_index(customers["customer_id"].astype("str"))  # one row per id (`check_ids`)
    said = [[] for _ in range(len(ids))]
    for feature, col in columns.items():
        theirs = ids.astype("str").map(cust[col].astype("str"))
        for i in (theirs.isin(list(unseen[feature])).to_numpy()).nonzero()[0]:
            said[i].append(Markup("{} '{}'").format(str(col).replace("_", " "), isolated(theirs.iloc[i])))
    return pd.Series(  # markup as text (the category isolated: `isolated`), made markup again by `views.customer_rows`
        [
            str(
                Markup(
                    "Their {} is new to the model (not in the data it learnt from): it read it as unknown, "
                    "so their value, risk and tier are less sure"
                ).format(Markup(" and ").join(s))
            )
            if s
            else ""
            for s in said
        ],
        index=ids.index,
        dtype="str",
    )


def unseen_mine_line(unseen: Mapping[str, Mapping[str, int]] | None, n_marked: int | None) -> str | None:
    """The line of a manager's page on categories unseen in training (the model card's `unseen_values`): how many
    of their customers hold one (`n_marked`, each marked beside them with their own value: `unseen_profile_marks`),
    nothing when none of theirs does; when they cannot be told (`n_marked` None), that some customers do. Never a
    value: the company's list would show a manager the categories of other managers' customers (a rare region or
    channel points to one customer; the team page's model card names them). None without any."""
    if not unseen or n_marked == 0:
        return None
    if n_marked is None:
        return (
            "some of the company's customers have a profile the model never saw in training (the team page's "
            "model card names it): it read it as unknown, so their value, risk and tier are less sure. This page "
            "was made without the customer table (`cvp report --data`), so it cannot mark which of them are yours."
        )
    return (
        f"{n_marked:,} of your customers {'has' if n_marked == 1 else 'have'} a profile the model never saw in "
        "training: it read it as unknown, so their value, risk and tier are less sure. "
        f"{'It is' if n_marked == 1 else 'They are'} marked in the table below."
    )


def page_banners(card: Mapping[str, Any], as_of: str, rejected_from_share: float) -> dict[str, Any]:
    """What atop every page says before anything else (`_banners.html.j2`: the team and manager pages of `cvp
    report`, the page of `cvp profile`), from the run's model card notes (`pipelines.run_notes.run_card_notes`):
    scores of a model not the champion, data ending well before the as-of, a table whose export stopped, another
    company's model, a model trained on other data, a model replaced since (round 26), rows rejected
    from `rejected_from_share` of a table (`report.rejected_rows_banner_share`). A key is None when not said."""
    return {
        "provisional": card.get("provisional"),
        "provisional_label": card.get("provisional_label") or "Provisional",
        "stale_data": stale_data_banner(card.get("stale_data"), as_of),
        "stopped_tables": stopped_tables_banner(card.get("stopped_tables"), card.get("stopped_names")),
        "other_company_model": card.get("other_company_model"),
        "model_inputs": model_inputs_banner(card.get("model_inputs")),
        # scores of a champion replaced since; not of a challenger's (the `provisional` banner says whose they are)
        "champion_now": None
        if card.get("provisional")
        else champion_now_banner(card.get("champion_now_version"), card.get("model_version", "?")),
        "rejected_rows": rejected_rows_banner(
            card.get("rejected_rows"), card.get("rejected_rows_share"), rejected_from_share
        ),
    }
