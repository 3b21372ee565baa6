"""One answer of a word-vector query, shared by the numpy path (``vectors``) and the numpy-free one
(``blas_query``) so ``queries`` builds the same records from either."""

from __future__ import annotations

from typing import NamedTuple


class Neighbour(NamedTuple):  # a NamedTuple, not a dataclass: the quick path does not import dataclasses
    word: str
    score: float
    rank: int  # 1-based rank among all candidates (inputs included when they are kept)
