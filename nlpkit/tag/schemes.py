"""Chunk tagging schemes: IOB1, IOB2 (BIO) and IOBES, read in any, written in any.

A tag is ``O`` or ``P-TYPE`` with a prefix ``P`` in ``B I E S``. Tags are read into chunks
(``Span(start, end, type)``, ``end`` exclusive) with the rules of the CoNLL ``conlleval`` script (as
ported by ``seqeval``), so a sequence in any of the three schemes, or one that breaks its scheme
(``I-X`` after ``O``), reads the way conlleval reads it; the chunks are then written in the wanted
scheme. Tags without a prefix (part-of-speech tags) are the scheme ``none``: nothing to convert.

- IOB1 (CoNLL-2003 original): chunk tokens are ``I-X``; ``B-X`` only starts a chunk that directly
  follows another chunk of the same type.
- IOB2: the first token of every chunk is ``B-X``, the others ``I-X``.
- IOBES: ``S-X`` for a one-token chunk; ``B-X I-X ... E-X`` otherwise.

``allowed_transitions`` gives what each scheme forbids (``I-X`` after ``O`` in IOB2); the CRF never
decodes a forbidden transition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from nlpkit.errors import ConfigError

SCHEMES = ("iob1", "iob2", "iobes")
NONE = "none"  # tags with no chunk structure (POS tags)
PREFIXES = ("B", "I", "E", "S")


class Span(NamedTuple):
    start: int
    end: int  # exclusive
    type: str


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", "")``; anything else -> ``("I", tag)``."""
    if tag == "O":
        return "O", ""
    if len(tag) > 2 and tag[0] in PREFIXES and tag[1] in "-_":
        return tag[0], tag[2:]
    return "I", tag  # conlleval treats a tag without a prefix as I-tag


def is_chunk_tag(tag: str) -> bool:
    return tag == "O" or (len(tag) > 2 and tag[0] in PREFIXES and tag[1] in "-_")


def _ends(prev: str, prev_type: str, cur: str, cur_type: str) -> bool:
    """conlleval's endOfChunk: the chunk open at ``prev`` ends before ``cur``."""
    if prev in ("E", "S"):
        return True
    if prev in ("B", "I") and cur in ("B", "S", "O"):
        return True
    return prev != "O" and prev_type != cur_type


def _starts(prev: str, prev_type: str, cur: str, cur_type: str) -> bool:
    """conlleval's startOfChunk: a chunk starts at ``cur``."""
    if cur in ("B", "S"):
        return True
    if prev in ("E", "S", "O") and cur in ("E", "I"):
        return True
    return cur != "O" and prev_type != cur_type


def to_spans(tags: Sequence[str]) -> list[Span]:
    """The chunks of one sentence, read as conlleval reads them (any scheme, broken ones too)."""
    spans: list[Span] = []
    prev, prev_type, start = "O", "", -1
    for i, tag in enumerate([*tags, "O"]):  # the sentence boundary closes the last chunk
        cur, cur_type = split_tag(tag)
        if start >= 0 and _ends(prev, prev_type, cur, cur_type):
            spans.append(Span(start, i, prev_type))
            start = -1
        if _starts(prev, prev_type, cur, cur_type):
            start = i
        prev, prev_type = cur, cur_type
    return spans


def from_spans(spans: Sequence[Span], n: int, scheme: str) -> list[str]:
    """Tags of an ``n``-token sentence holding ``spans`` (sorted, not overlapping) in ``scheme``."""
    check_scheme(scheme)
    tags = ["O"] * n
    prev_end, prev_type = -1, ""
    for s in spans:
        if scheme == "iob1":
            first = "B" if (s.start == prev_end and s.type == prev_type) else "I"
            tags[s.start : s.end] = [f"{first}-{s.type}"] + [f"I-{s.type}"] * (s.end - s.start - 1)
        elif scheme == "iob2":
            tags[s.start : s.end] = [f"B-{s.type}"] + [f"I-{s.type}"] * (s.end - s.start - 1)
        elif s.end - s.start == 1:
            tags[s.start] = f"S-{s.type}"
        else:
            tags[s.start : s.end] = [f"B-{s.type}"] + [f"I-{s.type}"] * (s.end - s.start - 2) + [f"E-{s.type}"]
        prev_end, prev_type = s.end, s.type
    return tags


def convert(tags: Sequence[str], scheme: str) -> list[str]:
    """``tags`` (any scheme) rewritten in ``scheme``; ``none`` leaves them as they are."""
    if scheme == NONE:
        return list(tags)
    return from_spans(to_spans(tags), len(tags), scheme)


def check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ConfigError(f"unknown --scheme {scheme!r}", "use iob1, iob2 or iobes")


def detect_scheme(sentences: Sequence[Sequence[str]]) -> str:
    """The scheme a tagged corpus is written in: ``none`` if some tag has no chunk prefix,
    ``iobes`` if it uses E-/S-, ``iob1`` if some chunk starts with I-, else ``iob2``."""
    seen_iob1 = False
    for tags in sentences:
        prev_type = ""
        prev = "O"
        for tag in tags:
            if not is_chunk_tag(tag):
                return NONE
            cur, cur_type = split_tag(tag)
            if cur in ("E", "S"):
                return "iobes"
            if cur == "I" and (prev == "O" or prev_type != cur_type):
                seen_iob1 = True
            prev, prev_type = cur, cur_type
    return "iob1" if seen_iob1 else "iob2"


def allowed_transitions(tags: Sequence[str], scheme: str) -> tuple[list[list[bool]], list[bool], list[bool]]:
    """Which tag may follow which in ``scheme``: (allowed[i][j] for i -> j, may start, may end)."""
    k = len(tags)
    if scheme == NONE:
        return [[True] * k for _ in range(k)], [True] * k, [True] * k
    parts = [split_tag(t) for t in tags]
    allowed = [[_may_follow(parts[i], parts[j], scheme) for j in range(k)] for i in range(k)]
    start = [_may_follow(("O", ""), parts[j], scheme) for j in range(k)]
    end = [_may_follow(parts[i], ("O", ""), scheme) for i in range(k)]
    return allowed, start, end


def _may_follow(prev: tuple[str, str], cur: tuple[str, str], scheme: str) -> bool:
    (p, pt), (c, ct) = prev, cur
    inside = p != "O" and pt == ct  # cur continues the chunk of prev's type
    if scheme == "iob2":
        return c != "I" or (p in ("B", "I") and inside)
    if scheme == "iob1":
        return c != "B" or (p in ("B", "I") and inside)
    if scheme == "iobes":  # B/I must be followed by I/E of the same type; E/S/O by O, B or S
        if p in ("B", "I"):
            return c in ("I", "E") and inside
        return c in ("O", "B", "S")
    raise ConfigError(f"unknown scheme {scheme!r}")
