"""The mapping expression language: a small, safe subset of Python evaluated on pandas columns.

`derive` and `where` expressions in a mapping are parsed with `ast` and checked node by node before anything runs;
they are evaluated here on the source columns, never handed to `eval`, `DataFrame.eval` or `DataFrame.query`.

Allowed:
- column names (`Quantity`; no dunder names), literals (numbers, text, `True`/`False`), lists/tuples of literals
  (only as the argument of `isin`);
- arithmetic `+ - * / // %`, unary `-`/`+`, comparisons `== != < <= > >=` (chains too);
- boolean logic `&`, `|`, `~`, `and`, `or`, `not` (on true/false values only);
- `col.isin([...])`, `col.isna()`, `col.notna()`;
- text methods `col.str.startswith/endswith/contains(literal)` (literal match, never a regex), `.str.lower()`,
  `.str.upper()`, `.str.strip()`, `.str.len()`, `.str.slice(start, stop)`;
- date parts `col.dt.year`, `.dt.month`, `.dt.day`, `.dt.hour`, `.dt.dayofweek`, `.dt.quarter`.

Everything else (other calls, attributes, `@` variables, subscripts, lambdas, comprehensions, `**`) is refused with
the offending part named.
"""

from __future__ import annotations

import ast
import operator
from typing import Any

import numpy as np
import pandas as pd

_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
}
_CMPOPS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
#: `.str.<method>`: number of positional literal arguments allowed (min, max)
STR_METHODS: dict[str, tuple[int, int]] = {
    "startswith": (1, 1),
    "endswith": (1, 1),
    "contains": (1, 1),
    "lower": (0, 0),
    "upper": (0, 0),
    "strip": (0, 0),
    "len": (0, 0),
    "slice": (1, 2),
}
DT_ATTRIBUTES = ("year", "month", "day", "hour", "minute", "dayofweek", "quarter", "date")
SERIES_METHODS: dict[str, tuple[int, int]] = {"isin": (1, 1), "isna": (0, 0), "notna": (0, 0)}
MAX_LITERAL = 10**15  # bounds the size of literal numbers (no huge integers to compute with)
MAX_TEXT = 1000
MAX_EXPRESSION = 2000  # characters of one expression: a mapping is written by hand
MAX_DEPTH = 100  # nesting of one expression (a sum of 100 columns; this module recurses per level)


class ExpressionError(ValueError):
    """An expression outside the language, or one that cannot be evaluated on the given columns."""


def _part(node: ast.AST) -> str:
    return ast.unparse(node)


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (bool, int, float, str)):
        v = node.value
        if isinstance(v, str) and len(v) > MAX_TEXT:
            raise ExpressionError(f"text literal longer than {MAX_TEXT} characters")
        if isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) > MAX_LITERAL:
            raise ExpressionError(f"number literal {_part(node)} is larger than {MAX_LITERAL:g}")
        return v
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _literal(node.operand)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v
    raise ExpressionError(f"{_part(node)!r} must be a literal (a number, text or True/False)")


def _check_call(node: ast.Call) -> None:
    if node.keywords:
        raise ExpressionError(f"keyword arguments are not allowed: {_part(node)!r}")
    f = node.func
    if not isinstance(f, ast.Attribute):
        raise ExpressionError(f"only the allowed column methods can be called, not {_part(f)!r}")
    base = f.value
    if isinstance(base, ast.Attribute) and base.attr == "str":
        allowed, what = STR_METHODS, ".str."
        check(base.value)
    elif f.attr in SERIES_METHODS:
        allowed, what = SERIES_METHODS, "."
        check(base)
    else:
        raise ExpressionError(
            f"method {_part(f)!r} is not allowed; allowed: "
            + ", ".join([f".{m}()" for m in SERIES_METHODS] + [f".str.{m}()" for m in STR_METHODS])
        )
    if f.attr not in allowed:
        raise ExpressionError(
            f"method {what}{f.attr}() in {_part(node)!r} is not allowed; allowed: {', '.join(allowed)}"
        )
    lo, hi = allowed[f.attr]
    if not lo <= len(node.args) <= hi:
        raise ExpressionError(f"{what}{f.attr}() takes {lo}-{hi} argument(s): {_part(node)!r}")
    for a in node.args:
        if f.attr == "isin":
            if not isinstance(a, (ast.List, ast.Tuple)):
                raise ExpressionError(f"isin takes a list of literals: {_part(node)!r}")
            for e in a.elts:
                _literal(e)
        elif f.attr == "slice":
            if not isinstance(_literal(a), int):
                raise ExpressionError(f"slice takes whole numbers: {_part(node)!r}")
        elif not isinstance(_literal(a), str):
            raise ExpressionError(f"{what}{f.attr}() takes text: {_part(node)!r}")


def check(node: ast.AST) -> None:
    """Refuse every node outside the language (raises `ExpressionError` naming the offending part)."""
    if isinstance(node, ast.Expression):
        return check(node.body)
    if isinstance(node, ast.Name):
        if node.id.startswith("__") or not isinstance(node.ctx, ast.Load):
            raise ExpressionError(f"name {node.id!r} is not allowed")
        return None
    if isinstance(node, ast.Constant):
        _literal(node)
        return None
    if isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd, ast.Not, ast.Invert)):
            raise ExpressionError(f"operator in {_part(node)!r} is not allowed")
        return check(node.operand)
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise ExpressionError(f"operator in {_part(node)!r} is not allowed (no ** or @)")
        check(node.left)
        return check(node.right)
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            check(v)
        return None
    if isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _CMPOPS:
                raise ExpressionError(
                    f"comparison in {_part(node)!r} is not allowed (use ==, !=, <, <=, >, >=, .isin([...]))"
                )
        check(node.left)
        for c in node.comparators:
            check(c)
        return None
    if isinstance(node, ast.Call):
        return _check_call(node)
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Attribute) and node.value.attr == "dt" and node.attr in DT_ATTRIBUTES:
            return check(node.value.value)
        raise ExpressionError(
            f"attribute {_part(node)!r} is not allowed; allowed: "
            + ", ".join(f".dt.{a}" for a in DT_ATTRIBUTES)
            + " and the methods of the mapping language"
        )
    raise ExpressionError(f"{_part(node)!r} is not part of the mapping language")


def parse(expr: str) -> ast.Expression:
    """Parse and check an expression; raise `ExpressionError` naming the problem."""
    if not isinstance(expr, str) or not expr.strip():
        raise ExpressionError("empty expression")
    if len(expr.strip()) > MAX_EXPRESSION:
        raise ExpressionError(
            f"expression of {len(expr.strip()):,} characters (at most {MAX_EXPRESSION:,}): {expr.strip()[:60]}..."
        )
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a valid expression: {exc.msg}") from None
    except (RecursionError, MemoryError):  # `-----...a`, `not not ... x`: Python's parser gives up
        raise ExpressionError(f"expression nested too deeply (at most {MAX_DEPTH} levels)") from None
    if _depth(tree) > MAX_DEPTH:
        raise ExpressionError(f"expression nested too deeply (at most {MAX_DEPTH} levels)")
    check(tree)
    return tree


def _depth(tree: ast.AST) -> int:
    """Nesting depth of a parsed expression, without recursion (`check` and `_eval` recurse per level)."""
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, level = todo.pop()
        deepest = max(deepest, level)
        todo.extend((c, level + 1) for c in ast.iter_child_nodes(node) if not isinstance(c, ast.expr_context))
    return deepest


def _is_text(v: Any) -> bool:
    return isinstance(v, pd.Series) and (v.dtype == object or isinstance(v.dtype, pd.StringDtype))


def _is_number(v: Any) -> bool:
    if isinstance(v, pd.Series):
        return pd.api.types.is_numeric_dtype(v.dtype) and not pd.api.types.is_bool_dtype(v.dtype)
    return isinstance(v, int | float) and not isinstance(v, bool)


def as_numbers(s: Any, what: str) -> Any:
    """A column used as numbers (anything else, a literal or a numeric column, is returned as it is). A text column (every column of a CSV source) is parsed the way the contract
    parses numbers (`features.parsing.parse_numbers`); a value given that is not a number is an
    `ExpressionError` naming the column and examples, never a missing value a sum would skip. Without this,
    `Quantity * UnitPrice` failed on CSV text, `a + b` joined the texts ("12" + "3" = "123") and `Quantity == 0`
    was never true. An integer column (a Parquet source's `Quantity`) computes as 64-bit floats too: NumPy's int64
    arithmetic wraps around (two lines of 9223372036854775807, a system's "unknown", summed to -2 with exit 0);
    `+`, `-`, `*` of integers whose result fits keep 64-bit integers first (`_exact_ints`)."""
    if not _is_text(s):
        if isinstance(s, pd.Series) and pd.api.types.is_integer_dtype(s.dtype):
            return s.astype("float64")
        return s
    from features.parsing import parse_numbers, unrepresentable
    from features.text import blank

    out = parse_numbers(s)
    bad = (~blank(s) & out.isna()) | unrepresentable(s, out)  # `1e-400` is no 0, `1e400` no infinity
    if bad.any():
        raise ExpressionError(
            f"{what} needs numbers, but column {s.name!r} holds text that is not one (or one a 64-bit float "
            f"cannot hold, 1e-400, 1e400): {_shown(s, bad)}"
        )
    return out


def _shown(s: pd.Series, bad: pd.Series) -> str:
    """The values of `s` at `bad` for a message: only for a non-personal contract column (a source column outside
    it, `Email`, `Notes`, may hold personal data, and messages land in terminals and batch logs), else counts."""
    from features.names import shown_in_messages

    if shown_in_messages(s.name):
        return ", ".join(repr(v) for v in s[bad].head(5))
    return (
        f"{int(bad.sum()):,} value(s), {s[bad].nunique():,} distinct (not shown: a source column outside the "
        "contract may hold personal data)"
    )


#: A text literal an ordering comparison reads as a date (`InvoiceDate >= '2011-01-01'`): ISO 8601's day first.
_ISO_DAY = r"\s*\d{4}-\d{2}-\d{2}"


def as_dates(left: Any, right: Any, what: str) -> tuple[Any, Any]:
    """Both sides of an ordering comparison (`<`, `<=`, `>`, `>=`) of a text column (every column of a CSV source)
    with a date literal (`InvoiceDate >= '2011-01-01'`) as instants, parsed the way the contract parses dates
    (`features.dates.parse_timestamps_native`: ISO 8601, offsets converted; a naive value read as UTC on both
    sides); a value given that is not such a date is an `ExpressionError` naming the column. Was: compared as
    text, so `'9/30/2010 10:00' >= '2011-01-01'` was true and `'12/1/2011 8:26'` false: rows routed by their
    first digit, exit 0 (a Parquet date column already compared instants). Anything else is returned as it is."""
    import re

    def literal(v: Any) -> bool:
        return isinstance(v, str) and re.match(_ISO_DAY, v) is not None

    if not ((literal(right) and _is_text(left)) or (literal(left) and _is_text(right))):
        return left, right
    from features.dates import parse_timestamps_native
    from features.text import blank

    def instants(v: Any) -> Any:
        s = pd.Series([v]) if isinstance(v, str) else v
        out, _ = parse_timestamps_native(s, "UTC")
        bad = ~blank(s) & out.isna()
        if bad.any():
            shown = (
                f"{v!r} is not one"
                if isinstance(v, str)
                else f"column {s.name!r} holds text that is not one: {_shown(s, bad)}"
            )
            raise ExpressionError(
                f"{what} compares dates (ISO 8601, as the contract reads them), but {shown}; export the column "
                "as ISO 8601 dates (or as Parquet dates)"
            )
        return out.iloc[0] if isinstance(v, str) else out

    return instants(left), instants(right)


def typed_text_literal(literal: Any, what: str, column: Any) -> Any:
    """A text literal compared with a typed column of a Parquet source (numbers, true/false, dates): a date
    column's literal as the instant ISO 8601 gives it (a naive one as UTC, as `as_dates` reads both sides); any
    other is an `ExpressionError`. Was: `CustomerID != '12346'` on a float column true on every row, `==` and
    `isin(['12346'])` never (a filter silently doing nothing, or routing nothing); `InvoiceDate >= '1/12/2011'`
    read by pandas month first (the 12th of January for a UK user's 1st of December), `== 'garbage'` never true;
    a blank literal (`CustomerID != ''`) points to `.notna()` / `.isna()`. Anything else is returned as it is."""
    if not isinstance(literal, str) or not isinstance(column, pd.Series):
        return literal
    typed = pd.api.types.is_datetime64_any_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype)
    if not literal.strip() and (
        typed or _is_number(column)
    ):  # `CustomerID != ''`: a missing value is no text
        raise ExpressionError(
            f"{what} compares the typed column {column.name!r} (numbers, dates or true/false) with the blank text "
            f"{literal!r}: never equal, a missing value there is missing, not blank. Write "
            f"{column.name}.notna() for the rows with a value ({column.name}.isna() for those without)"
        )
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        from features.dates import parse_timestamps_native

        when, _ = parse_timestamps_native(pd.Series([literal]), "UTC")
        if when.isna().iloc[0]:
            raise ExpressionError(
                f"{what} compares the date column {column.name!r} with {literal!r}, which is not an ISO 8601 "
                "date (2011-12-01, 2011-12-01 08:26): write the date so (a date is never guessed)"
            )
        stamp = pd.Timestamp(when.iloc[0])
        return stamp.tz_localize("UTC") if isinstance(column.dtype, pd.DatetimeTZDtype) else stamp
    if _is_number(column) or pd.api.types.is_bool_dtype(column.dtype):
        flags = pd.api.types.is_bool_dtype(column.dtype)
        written = "True or False" if flags else literal.strip()
        raise ExpressionError(
            f"{what} compares the column {column.name!r}, which holds {'true/false' if flags else 'numbers'}, "
            f"with the text {literal!r}: never equal. Write {written} without quotes"
        )
    return literal


def _int64(v: Any) -> Any:
    """`v` as 64-bit integers (a literal or a column of integers, none missing), or None."""
    if isinstance(v, bool) or not isinstance(v, int | pd.Series):
        return None
    if isinstance(v, int):
        return v if -(2**63) <= v < 2**63 else None
    if not pd.api.types.is_integer_dtype(v.dtype) or v.isna().any():
        return None
    if len(v) and pd.api.types.is_unsigned_integer_dtype(v.dtype) and int(v.max()) >= 2**63:
        return None
    return v.astype("int64")


def _exact_ints(op: ast.operator, left: Any, right: Any) -> pd.Series | None:
    """`left op right` (`+`, `-`, `*`) computed as 64-bit integers when both are integers and no row's result
    leaves their range (a key such as `Store * 1000000000000 + Ticket` stays a whole id, not a float the
    contract refuses as an id); None otherwise: `as_numbers` computes as floats, never wrapping around (two
    INT64_MAX quantities summed to -2). Rows whose float result is near the range are checked exactly."""
    if not isinstance(op, ast.Add | ast.Sub | ast.Mult):
        return None
    a, b = _int64(left), _int64(right)
    if a is None or b is None:
        return None
    fn = _BINOPS[type(op)]
    near = np.abs(np.asarray(fn(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)))) >= 2.0**62
    for i in np.flatnonzero(np.atleast_1d(near)):
        x = int(a.iloc[i]) if isinstance(a, pd.Series) else a
        y = int(b.iloc[i]) if isinstance(b, pd.Series) else b
        if not -(2**63) <= fn(x, y) < 2**63:
            return None
    return fn(a, b)


def _is_bool(v: Any) -> bool:
    if isinstance(v, pd.Series):
        return pd.api.types.is_bool_dtype(v.dtype)
    return isinstance(v, bool)


def _need_bool(v: Any, node: ast.AST, what: str) -> Any:
    if not _is_bool(v):
        raise ExpressionError(f"{what} needs true/false values, but {_part(node)!r} is not true/false")
    return v


def _str_call(s: pd.Series, name: str, args: list[Any]) -> pd.Series:
    if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
        raise ExpressionError(f".str.{name}() needs a text column, not {s.dtype}")
    acc = s.astype("object").str
    if name in ("startswith", "endswith"):
        out = getattr(acc, name)(args[0])
    elif name == "contains":
        out = acc.contains(args[0], regex=False)
    elif name == "slice":
        return acc.slice(*args)
    else:
        return getattr(acc, name)()
    return out.astype("boolean")  # missing text stays missing (not true, not false)


def _eval(node: ast.AST, frame: pd.DataFrame) -> Any:
    if isinstance(node, ast.Expression):
        return _eval(node.body, frame)
    if isinstance(node, ast.Name):
        if node.id in ("True", "False"):
            return node.id == "True"
        if node.id not in frame.columns:
            raise ExpressionError(f"column {node.id!r} does not exist; columns: {list(frame.columns)}")
        column = frame[node.id]
        if _is_text(column):  # as the contract reads text: " C536379" is the return C536379, "  " is missing
            from features.text import clean_text

            column = clean_text(column).rename(node.id)
        return column
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, frame)
        if isinstance(node.op, (ast.Not, ast.Invert)):
            v = _need_bool(v, node.operand, "~/not")
            return ~v if isinstance(v, pd.Series) else not v
        v = as_numbers(v, f"{_part(node)!r}")
        return -v if isinstance(node.op, ast.USub) else +v
    if isinstance(node, ast.BoolOp):
        values = [_need_bool(_eval(v, frame), v, "and/or") for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return out
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, frame), _eval(node.right, frame)
        if not isinstance(left, pd.Series) and not isinstance(right, pd.Series):
            raise ExpressionError(f"{_part(node)!r} computes with literals only; use a column")
        if isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            _need_bool(left, node.left, "&/|")
            _need_bool(right, node.right, "&/|")
        elif not isinstance(left, str) and not isinstance(right, str):  # text + 'literal' joins text
            exact = _exact_ints(node.op, left, right)  # `Store * 1000000000000 + Ticket`: an id, kept whole
            if exact is not None:
                return exact
            left, right = as_numbers(left, f"{_part(node)!r}"), as_numbers(right, f"{_part(node)!r}")
        return _BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.Compare):
        out = None
        left = _eval(node.left, frame)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, frame)
            if _is_text(left) and _is_number(right):  # `Quantity > 0` on a CSV column compares numbers
                left = as_numbers(left, f"{_part(node)!r}")
            elif _is_text(right) and _is_number(left):
                right = as_numbers(right, f"{_part(node)!r}")
            elif isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):  # a CSV column's dates, not its text
                left, right = as_dates(left, right, f"{_part(node)!r}")
            left, right = (
                typed_text_literal(left, f"{_part(node)!r}", right),
                typed_text_literal(right, f"{_part(node)!r}", left),
            )
            r = _CMPOPS[type(op)](left, right)
            out = r if out is None else (out & r)
            left = right
        return out
    if isinstance(node, ast.Call):
        f = node.func
        assert isinstance(f, ast.Attribute)
        if isinstance(f.value, ast.Attribute) and f.value.attr == "str":
            s = _eval(f.value.value, frame)
            args = [_literal(a) for a in node.args]
            if not isinstance(s, pd.Series):
                raise ExpressionError(f"{_part(node)!r} needs a column")
            return _str_call(s, f.attr, args)
        s = _eval(f.value, frame)
        if not isinstance(s, pd.Series):
            raise ExpressionError(f"{_part(node)!r} needs a column")
        if f.attr == "isin":
            lst = node.args[0]
            assert isinstance(lst, (ast.List, ast.Tuple))
            values = [_literal(e) for e in lst.elts]
            if _is_text(s) and values and all(_is_number(v) for v in values):
                # `Quantity.isin([1, 2])` on a CSV column (text) compares numbers, as `Quantity == 1` does;
                # on the text it was never true ("1" is not 1), so `~...isin` let every row through
                s = as_numbers(s, f"{_part(node)!r}")
            for v in values:
                typed_text_literal(v, f"{_part(node)!r}", s)
            return s.isin(values)
        return s.isna() if f.attr == "isna" else s.notna()
    if isinstance(node, ast.Attribute):  # .dt.<part>, checked by `check`
        s = _eval(node.value.value, frame)  # type: ignore[attr-defined]
        if not isinstance(s, pd.Series) or not pd.api.types.is_datetime64_any_dtype(s.dtype):
            raise ExpressionError(f"{_part(node)!r} needs a date column")
        return getattr(s.dt, node.attr)
    raise ExpressionError(f"{_part(node)!r} is not part of the mapping language")  # unreachable after check


def zero_divisors(tree: ast.Expression, frame: pd.DataFrame) -> np.ndarray:
    """Rows where a divisor (`/`, `//`, `%`) of the expression is 0: their result is infinite or missing (`x / 0`,
    `0 / 0`), which a contract column then rejected as `non-finite revenue` or `missing revenue`, naming neither
    the division nor the source line (`pipelines.mapping` rejects such lines, with their group, at the source)."""
    out = np.zeros(len(frame), dtype=bool)
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)):
            d = as_numbers(_eval(node.right, frame), f"{_part(node)!r}")
            out |= d.eq(0).fillna(False).to_numpy(dtype=bool) if isinstance(d, pd.Series) else d == 0
    return out


def evaluate(tree: ast.Expression, frame: pd.DataFrame) -> pd.Series:
    """Evaluate a checked expression on `frame`; the result is a Series aligned with `frame`."""
    try:
        out = _eval(tree, frame)
    except ExpressionError:
        raise
    except (TypeError, ValueError, ArithmeticError, AttributeError) as exc:
        raise ExpressionError(f"cannot evaluate on these columns: {type(exc).__name__}: {exc}") from None
    if not isinstance(out, pd.Series):
        out = pd.Series([out] * len(frame), index=frame.index)
    return out
