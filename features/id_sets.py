"""Ids prepared once for many lookups (`features.validation.isin_ids(values, IdSet(known))`, issue 14)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


class IdSet:
    """Ids looked up many times (`isin_ids(values, IdSet(known))`): packed into an Arrow value set once instead
    of at every lookup (issue 14: each scoring chunk packed the 732,572 scored ids of 1M customers again)."""

    def __init__(self, known: pd.Index | np.ndarray) -> None:
        import pyarrow as pa

        from features._engine import _packed_keys

        self.known = known
        packed = _packed_keys(pd.Series(known, dtype="str"))
        self.packed = None if packed is None else pa.array(packed)
        self._text: Any = None

    def text(self, arrow_type: Any) -> Any:
        """The ids as an Arrow text array of `arrow_type` (missing ones null), made once per type."""
        import pyarrow as pa

        if self._text is None or self._text.type != arrow_type:
            self._text = pa.array(np.asarray(self.known, dtype=object), type=arrow_type, from_pandas=True)
        return self._text


__all__ = ["IdSet"]
