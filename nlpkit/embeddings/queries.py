"""Query records for `nlpkit analogy` and `nlpkit similar` (no numpy here, no torch).

Each input line gives exactly one record, in input order, so the output lines up with the input:
``{"text", "a", "b", "c", "answers": [{"word", "score"}]}`` for analogies and
``{"text", "word", "answers"}`` for neighbours (``text`` is the input line, ``score`` the cosine
similarity, or the 3CosMul objective for ``method="mul"``). A line that cannot be answered
(unparsable, empty, out-of-vocabulary words) gets a record with ``"error"`` (and ``"oov_words"``,
the unknown words) instead of stopping the stream. Scores are not rounded here.

The vectors are a ``vectors.WordVectors`` (numpy, any query) or, for a few plain queries, a
``blas_query.OneOffVectors`` (no numpy import); both answer through ``QueryVectors``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice

TYPE_CHECKING = False  # typing costs ~3 ms to import: a one-off query skips it
if TYPE_CHECKING:
    from typing import Any, Protocol

    class QueryVectors(Protocol):
        def lookup(self, word: str) -> int | None: ...

        def word(self, i: int) -> str: ...

        def similar(self, word_ids: Sequence[int], topk: int = 10, include_inputs: bool = False) -> list[list[Neighbour]]: ...

        def analogy(
            self, queries: Sequence[tuple[int, int, int]], method: str = "add", topk: int = 1, include_inputs: bool = False
        ) -> list[list[Neighbour]]: ...

from nlpkit.embeddings.neighbour import Neighbour

_ANALOGY = re.compile(r"^\s*(\S+)\s*:\s*(\S+)\s*::\s*(\S+)\s*$")
_SENTENCE = re.compile(r"^\s*(\S+)\s+is\s+to\s+(\S+)\s+as\s+(\S+)(\s+is\s+to\s*\??)?\s*$", re.IGNORECASE)


def parse_analogy(line: str) -> tuple[str, str, str] | None:
    """``a:b::c``, ``a b c`` or ``a is to b as c is to ?`` -> (a, b, c)."""
    for pattern in (_ANALOGY, _SENTENCE):
        m = pattern.match(line)
        if m:
            return m.group(1), m.group(2), m.group(3)
    words = line.split()
    return (words[0], words[1], words[2]) if len(words) == 3 else None


def _answers(found: list[Neighbour]) -> list[dict[str, Any]]:
    return [{"word": n.word, "score": float(n.score)} for n in found]


def _blocks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(lines)
    while block := list(islice(it, size)):
        yield block


def analogy_records(
    wv: QueryVectors, lines: Iterable[str], *, method: str = "add", topk: int = 1, include_inputs: bool = False, block: int = 256
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(query line, record) per input line; queries are answered ``block`` at a time."""
    for chunk in _blocks(lines, block):
        records, todo = [], []
        for line in chunk:
            abc = parse_analogy(line)
            a, b, c = abc or (None, None, None)
            rec: dict[str, Any] = {"text": line, "a": a, "b": b, "c": c, "answers": []}
            if abc is None:
                rec["error"] = "cannot parse the query; write a:b::c" if line.strip() else "empty query"
            else:
                ids = [wv.lookup(w) for w in abc]
                oov = [w for w, i in zip(abc, ids) if i is None]
                if oov:
                    rec["oov_words"], rec["error"] = oov, "not in vocabulary: " + " ".join(oov)
                else:
                    todo.append((rec, ids))
            records.append((line.strip(), rec))
        extra = 3 if include_inputs else 0  # room to find the best non-input word
        results = wv.analogy([ids for _, ids in todo], method=method, topk=topk + extra, include_inputs=include_inputs)
        for (rec, ids), found in zip(todo, results):
            rec["answers"] = _answers(found[:topk])
            if include_inputs:
                inputs = {wv.word(i) for i in ids}
                rec["answer_rank"] = next((n.rank for n in found if n.word not in inputs), None)
        yield from records


def similar_records(
    wv: QueryVectors, lines: Iterable[str], *, topk: int = 10, include_inputs: bool = False, block: int = 256
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(query word, record) per input line."""
    for chunk in _blocks(lines, block):
        records, todo = [], []
        for line in chunk:
            word = line.strip()
            rec: dict[str, Any] = {"text": line, "word": word, "answers": []}
            i = wv.lookup(word) if word else None
            if i is not None:
                todo.append((rec, i))
            elif word:
                rec["oov_words"], rec["error"] = [word], "not in vocabulary"
            else:
                rec["error"] = "empty query"
            records.append((word, rec))
        results = wv.similar([i for _, i in todo], topk=topk, include_inputs=include_inputs)
        for (rec, _), found in zip(todo, results):
            rec["answers"] = _answers(found)
        yield from records
