"""Static HTML reports: one team page and one page per account manager, with only that manager's customers.

Inputs (what scoring produces; the horizon H in days is read from the column names, e.g. `pred_value_365d`):

- `scores`: one row per customer (`customer_id` unique, str), all scored at the same `as_of`. Columns:
  `customer_id`, `as_of`, `model_version`, `pred_value_{H}d` and its interval `pred_value_p<lo>_{H}d`,
  `pred_value_p<hi>_{H}d` (currency; quantiles read from the names, `models.interval_quantiles`, e.g. p10/p90),
  `pred_churn_prob_{H}d` (0-1), `tier`, `tier_reason`, `rating`, `flags` (";"-joined, may be empty),
  `value_reason_{1..n}` / `value_reason_feature_{1..n}`, `churn_reason_{1..n}` / `churn_reason_feature_{1..n}`
  (sentences and the feature each one is about; every reason column present is shown, so n is whatever scoring
  wrote, `explain.n_reasons`), `account_manager_id` (str or missing). Optional:
  `profit_net_{W}d` and `service_effort_hours_{W}d` (feature values over the last W days, for the Pareto chart).
- `value_contrib`: index `customer_id`, one column per feature with the value model's contribution in currency,
  plus `_base` (the expected value of an average customer); each row sums to `pred_value_{H}d`.
- `customers` (optional): the contract `customers` table; `name` is shown on manager pages only.
- `account_managers` (optional): `account_manager_id`, `name`, `started_at`, `left_at`.
- `model_card`: model_name, model_version, trained_at, horizon_days, currency, backtest (tidy: fold, model,
  metric, value), data_fingerprint (table -> rows and sha256), feature_manifest (groups present/absent).

Outputs, written atomically into `out_dir` (with the permissions the umask gives, as every output; the pages hold
customer data: give `--out` a place only their readers can read):

- `index.html`: the team page. Aggregates only; no customer id and no personal column appears on it.
- `manager-<id>.html`: one per account manager, listing only that manager's customers; customers without a
  manager go to `manager-unassigned.html`.

Every page is self-contained (inline CSS, inline SVG charts, no scripts, no network) and byte-for-byte
deterministic for the same inputs. Team charts are drawn once with matplotlib; the per-customer waterfalls are
small SVGs laid out in `pipelines.reports.waterfall` and drawn by the template, because 2,000 matplotlib figures would cost minutes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from features.errors import StructuralError
from pipelines.output_checks import REPORT_MARKER  # a directory of pages, replaced whole
from pipelines.reports.actions import (
    HistoryReport,
    gone_by_owner,
    manager_actions,
    moved_away_by_owner,
    team_history,
)
from pipelines.reports.book import book_frame, csv_name, likely_to_leave, page_groups
from pipelines.reports.card import model_card_view
from pipelines.reports.columns import horizon_days_from_columns, interval_columns, required_columns
from pipelines.reports.config import ReportConfig, ReportPaths
from pipelines.reports.phrases import (
    BIDI_CONTROLS,
    coverage_phrase,
    css_token,
    horizon_phrases,
    is_blank,
    isolated,
    left_company,
    money,
    page_banners,
    unseen_mine_line,
    unseen_profile_marks,
)
from pipelines.reports.team import drivers_view, pareto_view, ratings_view, separators
from pipelines.reports.views import (
    check_ids,
    check_scores,
    customer_rows,
    manager_directory,
    manager_link,
    prepare,
    split_status,
    status_counts,
    status_rows,
    tier_order,
    tier_summary,
)
from pipelines.reports.waterfall import WaterfallSource, layout_waterfall
from pipelines.staging import atomic_directory

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
UNASSIGNED_SLUG = "unassigned"
#: what `manager_directory`, `new_customer_rows` and `moved_away_by_owner` read of every customer, scored or not
WHO_COLUMNS = ["customer_id", "manager", "customer_name"]

_SLUG_MAX = 48  # file names stay far below every file system's 255-byte limit, whatever the id
_HASHED = re.compile(r"-[0-9a-fA-F]{12}$")  # how a hashed name ends (`page_slugs`)


def page_slugs(manager_ids: Sequence[str]) -> dict[str, str]:
    """File-name part of each manager's page: bounded, unique under case folding, and stable.

    An id that is already a short, safe name (`AM001`) is used as it is, so account managers recognise their
    page. Any other id (unsafe characters, too long, the reserved `unassigned`, or equal to another id once case
    is ignored, as it would be on a case-insensitive file system) gets a readable prefix plus a hash of the
    exact id. The name depends only on the id itself, except where two ids would collide. An id ending like a
    hashed name (`-` and 12 hex digits) is hashed too, so a plain name is never another id's hashed name.
    """
    ids = list(dict.fromkeys(str(m) for m in manager_ids))
    folded: dict[str, int] = {}
    for mid in ids:
        folded[mid.casefold()] = folded.get(mid.casefold(), 0) + 1

    def plain(mid: str) -> bool:
        return (
            re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", mid) is not None
            and len(mid) <= _SLUG_MAX
            and _HASHED.search(mid) is None  # the form of a hashed name: never another id's page name
            and mid.casefold() != UNASSIGNED_SLUG
            and folded[mid.casefold()] == 1
        )

    slugs: dict[str, str] = {}
    for mid in ids:
        if plain(mid):
            slugs[mid] = mid
        else:
            head = re.sub(r"[^a-z0-9_-]+", "_", mid.casefold()).strip("_")[:_SLUG_MAX] or "manager"
            slugs[mid] = f"{head}-{hashlib.sha256(mid.encode('utf-8')).hexdigest()[:12]}"
    names = [s.casefold() for s in slugs.values()] + [UNASSIGNED_SLUG]
    if len(set(names)) != len(names):  # two ids with the same 48-bit hash: only ids made to collide
        clash = sorted(m for m in ids if names.count(slugs[m].casefold()) > 1)
        raise StructuralError(
            f"manager ids {', '.join(map(repr, clash[:4]))} would share the page name "
            f"manager-{slugs[clash[0]]}.html: one manager would read another's customers; rename them"
        )
    return slugs


def _plain_text(value: Any) -> Any:
    """Every `{{ }}` of the templates: text from the data loses its bidi controls (then autoescaped as usual);
    markup the code built (the charts' SVG) is left as it is."""
    if isinstance(value, str) and not hasattr(value, "__html__"):
        return BIDI_CONTROLS.sub("", value)
    return value


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        finalize=_plain_text,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["isolated"] = isolated
    return env


def _write_page(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="\n")


def build_reports(
    scores: pd.DataFrame,
    value_contrib: pd.DataFrame,
    model_card: Mapping[str, Any],
    out_dir: Path | str,
    config: ReportConfig,
    registry: Mapping[str, Any],
    customers: pd.DataFrame | None = None,
    account_managers: pd.DataFrame | None = None,
    history: HistoryReport | None = None,
    profile: Any | None = None,
    new_customer_actions: Mapping[str, str] | None = None,
) -> ReportPaths:
    """Write the team page and one page per account manager into `out_dir` (created if missing).

    See the module docstring for the input contract. Customers with status `new` (scored by the registered lookalike
    model: `lookalike_prob_great`, reasons, `provisional_tier`) are listed on their manager's page with what to do
    first from `new_customer_actions` (by provisional tier). Inputs are not mutated. Raises ValueError when required
    score columns or the two interval columns are missing, an id of the scores, customers or managers is missing,
    blank or repeated (`views.check_ids`), a status is not scoring's, a scored row's prediction is not finite, its
    churn outside 0-1, its interval crossed, its tier or rating not scoring's (`views.check_scores`; these two
    raise StructuralError, a ValueError), or the model card's
    currency differs from `config.currency`.
    """
    h = horizon_days_from_columns(list(scores.columns))
    missing = [c for c in required_columns(h) if c not in scores]
    if missing:
        raise ValueError(f"scores are missing columns {missing}")
    interval = interval_columns(list(scores.columns), h)
    check_scores(
        scores, h
    )  # one row per customer; a status, and finite predictions, a tier, a rating when scored
    check_ids(
        customers, "customer_id", "customers", "fix the customers table: each customer once, with an id"
    )
    check_ids(
        account_managers,
        "account_manager_id",
        "account_managers",
        "fix the account_managers table: each manager once, with an id",
    )
    card_currency = model_card.get("currency")
    if card_currency and card_currency != config.currency:
        raise ValueError(
            f"model card currency {card_currency!r} differs from report currency {config.currency!r}"
        )

    final = Path(out_dir).resolve()
    # Pages are written into a staging directory that replaces `out_dir` as a whole: no stale page of an
    # earlier run (a manager who left, a renamed id) survives beside the new ones.
    with atomic_directory(final, REPORT_MARKER) as out:
        env = _environment()
        within, next_period = horizon_phrases(h)
        frame = prepare(scores, customers)
        # the run's date and model from every row: a run that scored nobody (all new or lapsed) has them too (was:
        # "Scores as of unknown · model version unknown" atop every page of such a run)
        as_of = pd.to_datetime(frame["as_of"]).max()
        versions = sorted(frame["model_version"].dropna().astype(str).unique())
        frame, not_scored = split_status(frame)
        tiers = tier_order(frame["tier"], config)
        as_of_text = "unknown" if pd.isna(as_of) else as_of.strftime("%Y-%m-%d")
        common = {
            "as_of": as_of_text,
            "model_version": ", ".join(versions) or "unknown",
            # said atop every page: a challenger's scores, old data, another company's model, rows rejected
            **page_banners(model_card, as_of_text, config.rejected_rows_banner_share),
            "horizon_days": h,
            "within": within,
            "next_period": next_period,
            "currency": config.currency,
            "tier_colors": config.tier_colors,
            "interval_label": interval.label,
            "interval_coverage": coverage_phrase(interval.low_quantile, interval.high_quantile),
            "actions": [
                {"tier": t, "tier_class": css_token(t), "text": config.actions.get(t, "")} for t in tiers
            ],
            "status_counts": status_counts(not_scored, len(frame)),
            "tier_history": team_history(history, tiers, config),  # aggregates only; None without a history
        }

        # who is whose, scored or not: built once, of the three columns its readers use (was: the whole scores
        # frame copied again for each, 0.055 s and 328 MB at peak a copy of a 1M-row, 54-column frame)
        why = [c for c in ("status_reason",) if c in not_scored]  # a new customer's "signed up ... ago"
        everyone = pd.concat([frame[WHO_COLUMNS], not_scored[[*WHO_COLUMNS, *why]]])
        directory = manager_directory(everyone, account_managers)
        others = {mid: status_rows(sub) for mid, sub in not_scored.groupby("manager", sort=True)}
        slugs = page_slugs(list(directory["account_manager_id"]))  # every name known before a page is written

        new_rows = {}  # the managers' new customers with their lookalike scores, from `cvp profile`
        if profile is not None:
            from pipelines.reports.profile_section import new_customer_rows

            new_rows = new_customer_rows(
                profile.new_customers,
                everyone,
                profile.facts.get("new_customer_actions", {}),
                config.currency,
            )
        # Issue 12: customers with status `new` scored by the registered lookalike model (`cvp score`) are listed
        # with their score in each manager's "Your new customers", not among the customers without a score.
        if "lookalike_prob_great" in not_scored.columns:
            from pipelines.reports.profile_section import new_customer_rows, scores_new_customers

            new_frame = scores_new_customers(not_scored)
            if len(new_frame):
                actions = new_customer_actions or (
                    profile.facts.get("new_customer_actions", {}) if profile else {}
                )
                new_rows = new_customer_rows(new_frame, everyone, dict(actions), config.currency)
                listed = not_scored[~not_scored["customer_id"].isin(new_frame["customer_id"])]
                others = {mid: status_rows(sub) for mid, sub in listed.groupby("manager", sort=True)}
        contrib = value_contrib.copy()
        contrib.index = contrib.index.astype(str)
        source = WaterfallSource(contrib, registry)
        value_col = f"pred_value_{h}d"
        frame = frame.assign(_at_risk=likely_to_leave(frame))
        # customers whose profile holds a category unseen in training: marked on their manager's page, and a line
        # says how many of theirs (round 26, was: on the team page's model card only); None: not to be told
        unseen = model_card.get("unseen_values")
        marks = unseen_profile_marks(frame["customer_id"], customers, unseen)
        if marks is not None:
            frame = frame.assign(_unseen=marks)

        def manager_page(
            manager_id: str, title: str, sub: pd.DataFrame, extra: dict[str, Any], path: Path
        ) -> str:
            top = sub.sort_values([value_col, "customer_id"], ascending=[False, True], kind="mergesort")
            top = top.head(config.top_customers_per_manager)
            charts = []
            for rec in top[["customer_id", "customer_name", value_col]].to_dict("records"):
                rows = source.rows(rec["customer_id"], config.waterfall_features)
                if rows is None:
                    continue
                charts.append(
                    {
                        "customer_id": rec["customer_id"],
                        "name": rec["customer_name"],
                        "value": money(rec[value_col], config.currency),
                        "chart": layout_waterfall(rows, config.currency),
                    }
                )
            rows = customer_rows(sub, h, interval, config, within, show_names=True, registry=registry)
            new = new_rows.get(manager_id, [])
            book = page_groups(rows, tiers, config, others.get(manager_id, []), new)
            if book["cut"]:  # every customer in a CSV beside the page; the page lists who needs action first
                from pipelines.io import write_frame  # the product's one CSV writer (formulas neutralised)

                book["csv"] = csv_name(path.name)
                words = {"currency": config.currency, "next_period": next_period, "within": within}
                every = book_frame(sub, rows, h, interval, words, others.get(manager_id, []), new)
                write_frame(every, path.parent / book["csv"], byte_order_mark=True)  # opened by double-click
            return env.get_template("manager.html.j2").render(
                **common,
                **extra,
                title=title,
                manager_id=manager_id,
                summary=tier_summary(sub, tiers, h, config),
                n_customers=len(sub),
                total_value=money(float(sub[value_col].sum()), config.currency),
                at_risk=int(sub["_at_risk"].sum()),
                rows=rows,
                book=book,
                waterfalls=charts,
                not_scored=book["not_scored"],
                not_scored_total=len(others.get(manager_id, [])),
                month=manager_actions(
                    history,
                    sub,
                    config,
                    manager_id == "",
                    staff,
                    gone.get(manager_id, no_gone),
                    moved_away.get(manager_id),
                ),  # theirs only
                new_customers=book["new"],
                new_total=len(new),
                unseen_mine=unseen_mine_line(
                    unseen, None if marks is None else int((sub["_unseen"] != "").sum())
                ),
            )

        empty = frame.iloc[0:0]
        staff = {  # id -> (name, how they left, as of the scores): who handed a book over (`actions.handed_over`)
            str(rec["account_manager_id"]): (
                "" if is_blank(rec.get("name")) else str(rec["name"]),
                ""
                if is_blank(rec.get("left_at")) or pd.isna(rec.get("left_at"))
                else left_company(pd.Timestamp(rec["left_at"]).strftime("%Y-%m-%d"), as_of_text),
            )
            for rec in directory.to_dict("records")
        }
        gone = gone_by_owner(history, set(map(str, staff)))  # once per report, not per page
        no_gone = pd.DataFrame()
        # and those who are another manager's now, on their last run's manager's page (was: "moved to you" only)
        moved_away = moved_away_by_owner(history, everyone, set(map(str, staff)))
        manager_paths: dict[str, Path] = {}
        links = []
        frame_groups = {mid: sub for mid, sub in frame.groupby("manager", sort=True)}
        for rec in directory.to_dict("records"):
            mid = rec["account_manager_id"]
            sub = frame_groups.get(mid, empty)
            name, left = staff[str(mid)]
            path = out / f"manager-{slugs[mid]}.html"
            html = manager_page(mid, name or mid, sub, {"manager_name": name, "left": left}, path)
            _write_page(path, html)
            manager_paths[mid] = path
            links.append(manager_link(path.name, mid, name, left, sub, value_col, config))

        unassigned_path = None
        # new customers without a manager count too: were they all new, they were on no page (the team page holds
        # aggregates only, never a customer); so do gone customers whose manager has no page now
        if "" in frame_groups or "" in others or "" in new_rows or "" in gone:
            sub = frame_groups.get("", empty)
            unassigned_path = out / f"manager-{UNASSIGNED_SLUG}.html"
            html = manager_page(
                "",
                "Customers without an account manager",
                sub,
                {"manager_name": "", "left": ""},
                unassigned_path,
            )
            _write_page(unassigned_path, html)
            links.append(
                manager_link(unassigned_path.name, "", "No account manager", "", sub, value_col, config)
            )

        index_path = out / "index.html"
        _write_page(
            index_path,
            _team_page(env, common, frame, contrib, tiers, h, config, registry, model_card, links, profile),
        )
    return ReportPaths(
        index=final / index_path.name,
        managers={mid: final / path.name for mid, path in manager_paths.items()},
        unassigned=None if unassigned_path is None else final / unassigned_path.name,
    )


def _team_page(
    env: Environment,
    common: dict[str, Any],
    frame: pd.DataFrame,
    contrib: pd.DataFrame,
    tiers: list[str],
    h: int,
    config: ReportConfig,
    registry: Mapping[str, Any],
    model_card: Mapping[str, Any],
    links: list[dict[str, Any]],
    profile: Any | None = None,
) -> str:
    """The team page: aggregates only (no customer id, no personal column). `profile`: the tables of
    `cvp profile` (`pipelines.profile.ProfileTables`), shown as a section when given."""
    from pipelines.reports.profile_section import profile_view

    value_col = f"pred_value_{h}d"
    return env.get_template("index.html.j2").render(
        **common,
        title="Customer value: team overview",
        n_customers=len(frame),
        total_value=money(float(frame[value_col].sum()), config.currency),
        at_risk=int(frame["_at_risk"].sum()),
        tiers=tiers,
        summary=tier_summary(frame, tiers, h, config),
        pareto=pareto_view(frame, h, common["next_period"], config),
        drivers=drivers_view(contrib, frame, tiers, config, registry),
        separators=separators(contrib, frame, tiers, registry, config.currency),
        ratings=ratings_view(frame, tiers, config.tier_colors),
        card=model_card_view(model_card, h, config.currency),
        managers=links,
        profile=None if profile is None else profile_view(profile, config.currency, registry),
    )
