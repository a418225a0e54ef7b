"""Reason texts formatted once per distinct text, not once per row (`models.explain.top_reasons` uses them).

A reason's words depend on a feature's value only through its format (`{value:,.0f} EUR gross margin`), so a
million rows of amounts are a few thousand texts: `_render_keys` says which rows share a text, `_render_once`
formats each text once and hands every row its own.
"""

from __future__ import annotations

import re
import string
from typing import Any

import numpy as np
import pandas as pd

#: A `{value}` format that rounds to whole units ("about 1,446 EUR", "+3", "12%"): its text depends on the value
#: only through the rounded number (and the sign of a zero), so rows are rendered once per rounded value.
_WHOLE_UNITS_SPEC = re.compile(r"^[+\- ]?,?\.0([f%])$")


def _render_keys(template: str, number: np.ndarray) -> np.ndarray:
    """Per row a float key, equal for two rows exactly when `template` says their values with the same text.

    For a format rounding to whole units the key is the value rounded half to even (as `format` rounds the exact
    binary value; "%" multiplies by 100 first, as `format` does), with a zero's sign kept ("-0" is not "0");
    otherwise the value's bits. The keys of NaN rows are meaningless (`_render_once` is told which rows are NaN).
    """
    specs = {spec for _, field, spec, _ in string.Formatter().parse(template) if field == "value"}
    if not specs:
        return np.zeros(len(number))  # the text does not depend on the value
    match = _WHOLE_UNITS_SPEC.match(specs.pop()) if len(specs) == 1 else None
    if match is None:  # the value's own bits (int64): -0.0 ("-0.0") is not 0.0; NaN rows are not rendered
        return np.ascontiguousarray(number, dtype=np.float64).view(np.int64)
    scaled = number * 100.0 if match.group(1) == "%" else number
    rounded = np.rint(scaled)
    return np.where(rounded == 0, np.where(np.signbit(scaled), -0.25, 0.25), rounded)


def _render_once(keys: np.ndarray, missing: np.ndarray, render: Any) -> tuple[np.ndarray, np.ndarray]:
    """(codes per row, -1 where `missing`; text per code): `render(row)` is called once per distinct key among
    the rows not missing, on the key's first row."""
    rows = np.flatnonzero(~missing)
    codes = np.full(len(keys), -1, dtype=np.int64)
    sub, uniques = pd.factorize(keys[rows])
    codes[rows] = sub
    first = np.full(len(uniques), -1, dtype=np.int64)
    first[codes[rows[::-1]]] = rows[::-1]
    return codes, np.array([render(int(r)) for r in first], dtype=object)


def _about_amount(amount: np.ndarray, currency: str) -> np.ndarray:
    """'about 420 EUR', 'about 1,200 EUR', 'about 12k EUR', 'about 1.2M EUR' (2 significant figures).

    Below 100 the amount is rounded to a whole number; below 0.5 it reads 'less than 1'.
    """
    texts, codes = _about_amount_codes(amount, currency)
    return texts[codes]


def _about_amount_codes(amount: np.ndarray, currency: str) -> tuple[np.ndarray, np.ndarray]:
    """`_about_amount` as (text per distinct rounded amount, code per row): each text formatted once."""
    suffix = f" {currency}" if currency else ""
    x = np.abs(amount)
    with np.errstate(divide="ignore", invalid="ignore"):
        unit = 10.0 ** (np.floor(np.log10(np.where(x > 0, x, 1.0))) - 1)
    unit = np.where(x < 100, 1.0, unit)
    rounded = np.floor(x / unit + 0.5) * unit  # half up, so 425 -> 430 like people round
    uniques, inverse = np.unique(rounded, return_inverse=True)

    def text(r: float) -> str:
        if r < 1:
            return f"less than 1{suffix}"
        if r >= 1e6:
            m = r / 1e6
            return f"about {m:,.0f}M{suffix}" if m >= 10 else f"about {m:g}M{suffix}"
        if r >= 1e4:
            return f"about {r / 1e3:,.0f}k{suffix}"
        return f"about {r:,.0f}{suffix}"

    return np.array([text(float(r)) for r in uniques], dtype=object), inverse.reshape(-1)


def _about_points(prob: np.ndarray) -> np.ndarray:
    """'about 9 points' for a probability change of 0.09; 'less than 1 point' below half a point."""
    texts, codes = _about_points_codes(prob)
    return texts[codes]


def _about_points_codes(prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_about_points` as (text per distinct rounded number of points, code per row)."""
    points = np.floor(np.abs(prob) * 100.0 + 0.5)
    uniques, inverse = np.unique(points, return_inverse=True)
    texts = [
        "less than 1 point" if p < 1 else ("about 1 point" if p == 1 else f"about {p:,.0f} points")
        for p in uniques
    ]
    return np.array(texts, dtype=object), inverse.reshape(-1)
