"""Every reason sentence the demo company produces, held to the rules a manager can trust (issue 15).

Scored through `cvp score` (the command, so the test does not depend on how scoring is organised inside), on the
demo company and model of the `trained` fixture. Rules: no jargon (cutoff, feature, lifetime, column names, `_365d`),
a currency on every amount (the effect of a value reason, and the value of every money feature a reason quotes),
"so far" rather than cutoff language, and no two reasons of one customer and model from one feature group.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from features.registry import feature_registry
from pipelines.config import load_config

BANNED = ("cutoff", "feature", "lifetime", "_", "nan", "none", "btyd", " = ", "before the")


@pytest.fixture(scope="module")
def demo_scores(watched_scores) -> pd.DataFrame:
    """`cvp score --data <fixture data> --as-of 2025-01-01 --config <fixture config>`: the shared session run."""
    from pipelines.outputs import read_output_set

    return read_output_set(watched_scores.out).scores  # the stored reasons worded, as the reports read them


def test_every_demo_reason_follows_the_rules(trained, demo_scores) -> None:
    cfg = load_config(trained.config)
    currency = cfg.data.currency
    registry = feature_registry(cfg.features)
    scores = demo_scores
    scored = scores[scores["status"] == "scored"]
    assert len(scored) > 300
    amount = re.compile(rf"by (about [\d.,]+[kM]? {currency}|less than 1 {currency})(, together with|$)")
    quoted_money = re.compile(rf"[-+]?\d[\d,]* {currency}\b")
    verb = re.compile(r" (?:raises|raise|lowers|lower) (?:expected profit|churn risk) by ")
    checked = 0
    problems: list[str] = []
    for kind in ("value", "churn"):
        slots = sorted(int(c.rsplit("_", 1)[1]) for c in scores if re.fullmatch(rf"{kind}_reason_\d+", c))
        assert slots == list(range(1, cfg.explain.n_reasons + 1))
        for cid, row in scored.set_index("customer_id").iterrows():
            groups = []
            for k in slots:
                text, lead = row[f"{kind}_reason_{k}"], row[f"{kind}_reason_feature_{k}"]
                if pd.isna(text):
                    continue
                checked += 1
                spec = registry.get(lead)
                groups.append(spec.group if spec is not None else "model")
                lowered = text.lower()
                problems += [f"{cid}: {word!r} in {text!r}" for word in BANNED if word in lowered]
                if kind == "value" and not amount.search(text):
                    problems.append(f"{cid}: effect without {currency}: {text!r}")
                subject = verb.split(text)[0]
                money_feature = spec is not None and "currency" in spec.unit
                # a money feature's amount is quoted with its currency (missing values read "no ... recorded")
                if money_feature and not subject.startswith("no ") and not quoted_money.search(subject):
                    problems.append(f"{cid}: amount of {lead} without {currency}: {text!r}")
            if len(groups) != len(set(groups)):
                problems.append(f"{cid}: two {kind} reasons from one group {groups}")
    assert checked > 1000
    assert not problems, f"{len(problems)} problems, e.g.\n" + "\n".join(problems[:15])


def test_demo_reasons_quote_money_features_with_their_currency(trained, demo_scores) -> None:
    """The rule above has teeth: money features lead reasons in the demo, and their amounts are said in currency."""
    cfg = load_config(trained.config)
    texts = demo_scores["value_reason_1"].dropna()
    assert texts.str.contains(
        rf"\d {cfg.data.currency} (?:gross margin|net profit|revenue)", regex=True
    ).any()
    assert not texts.str.contains("in the last 365 days").any()  # windows in people's words
