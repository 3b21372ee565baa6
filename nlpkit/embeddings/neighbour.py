"""One answer of a word-vector query, shared by the numpy path (``vectors``) and the numpy-free one
(``blas_query``) so ``queries`` builds the same records from either."""

from __future__ import annotations

from collections import namedtuple

# A named tuple, neither a dataclass nor a typing.NamedTuple: the quick path imports neither
# dataclasses (~7 ms with inspect) nor typing (~3 ms). Fields: word (str), score (float) and rank
# (int: 1-based rank among all candidates, inputs included when they are kept).
Neighbour = namedtuple("Neighbour", ["word", "score", "rank"])
