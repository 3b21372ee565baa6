"""Masked-LM targets as BERT makes them (create_pretraining_data.py's create_masked_lm_predictions).

Of the non-special tokens, ``round(n * mlm_prob)`` (at least one) are chosen; each chosen token is
replaced by [MASK] 80% of the time, by a random vocabulary token 10% of the time and kept 10% of
the time; the model must predict the original token at every chosen position. With whole-word
masking, a word's ``##`` continuation pieces are chosen together with its first piece (a whole word
is skipped if it would overshoot the budget), and the 80/10/10 choice is still made per piece.

Masking is a pure function of the token list and a ``random.Random``; the caller decides whether
the generator is seeded once per example (static masking) or per epoch (dynamic masking).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class MaskingSpec:
    mask_id: int  # [MASK]
    vocab_size: int  # random replacements are drawn from [first_random_id, vocab_size)
    special_ids: frozenset[int]  # never masked: [CLS], [SEP], [PAD]
    continuation: frozenset[int] = frozenset()  # ids of "##" pieces, for whole-word masking
    mlm_prob: float = 0.15
    whole_word: bool = False
    first_random_id: int = 0  # skip [PAD]/[unused] ids at the start of the vocabulary


def candidate_groups(ids: Sequence[int], spec: MaskingSpec) -> list[list[int]]:
    """Positions that may be masked, grouped into words when ``whole_word`` (else one per group).

    Example (whole word, "un ##believ ##able story"): [[1, 2, 3], [4]] for ids at positions 1..4.
    """
    groups: list[list[int]] = []
    for i, token in enumerate(ids):
        if token in spec.special_ids:
            continue
        if spec.whole_word and groups and token in spec.continuation and groups[-1][-1] == i - 1:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def mask_tokens(ids: Sequence[int], spec: MaskingSpec, rng: random.Random) -> tuple[list[int], list[int], list[int]]:
    """Returns (masked ids, masked positions in increasing order, original ids at those positions)."""
    groups = candidate_groups(ids, spec)
    n_candidates = sum(len(g) for g in groups)
    budget = max(1, int(round(n_candidates * spec.mlm_prob))) if n_candidates else 0
    rng.shuffle(groups)
    chosen: list[int] = []
    for group in groups:
        if len(chosen) >= budget:
            break
        if len(chosen) + len(group) > budget:
            continue  # a whole word that does not fit; a shorter one later may
        chosen.extend(group)
    chosen.sort()
    out = list(ids)
    for pos in chosen:
        r = rng.random()
        if r < 0.8:
            out[pos] = spec.mask_id
        elif r < 0.9:
            out[pos] = rng.randrange(spec.first_random_id, spec.vocab_size)
        # else: keep the original token (the model must still predict it)
    return out, chosen, [ids[p] for p in chosen]
