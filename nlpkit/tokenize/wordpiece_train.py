"""A deterministic WordPiece vocabulary trainer.

The vocabulary is learned as HuggingFace's WordPieceTrainer learns it (BPE merges over words,
with ``##`` marking pieces that continue a word), but every tie is broken by the pieces'
strings, so the same corpus always gives the same vocabulary. The Rust trainer breaks ties by
hash-map order, which changes from run to run.

Words come from the tokenizer's own normaliser and pre-tokenizer, so training and encoding agree
on what a word is. Memory grows with the number of distinct words, not with the corpus.

Example: words {"low": 5, "lower": 2, "newest": 6} -> alphabet by count, then merges of the most
frequent adjacent pair first: ("##e", "##s") -> "##es", ("##es", "##t") -> "##est", ...
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PREFIX = "##"


def count_words(
    lines: Iterable[str], normalizer: Any, pre_tokenizer: Any, batch_lines: int = 2000, batch_chars: int = 1 << 20
) -> Counter[str]:
    """Count the words of ``lines`` as the tokenizer splits them.

    Batches are bounded in characters too: the normaliser keeps about 16 bytes per character.
    """
    counts: Counter[str] = Counter()
    batch: list[str] = []
    chars = 0
    for line in lines:
        batch.append(line)
        chars += len(line)
        if len(batch) >= batch_lines or chars >= batch_chars:
            _count_batch(batch, normalizer, pre_tokenizer, counts)
            batch, chars = [], 0
    if batch:
        _count_batch(batch, normalizer, pre_tokenizer, counts)
    return counts


def _count_batch(batch: list[str], normalizer: Any, pre_tokenizer: Any, counts: Counter[str]) -> None:
    # One call for the whole batch: newlines are whitespace to the pre-tokenizer, so words never span lines.
    text = normalizer.normalize_str("\n".join(batch))
    counts.update(word for word, _ in pre_tokenizer.pre_tokenize_str(text))


@dataclass
class _State:
    tokens: list[str] = field(default_factory=list)  # id -> piece
    ids: dict[str, int] = field(default_factory=dict)  # piece -> id
    words: list[list[int]] = field(default_factory=list)  # each word as piece ids; -1 is a dropped character
    counts: list[int] = field(default_factory=list)
    pairs: Counter[tuple[int, int]] = field(default_factory=Counter)
    where: dict[tuple[int, int], set[int]] = field(default_factory=dict)

    def add(self, piece: str) -> int:
        if piece not in self.ids:
            self.ids[piece] = len(self.tokens)
            self.tokens.append(piece)
        return self.ids[piece]


def learn_vocab(
    word_counts: Counter[str],
    vocab_size: int,
    *,
    min_frequency: int = 2,
    limit_alphabet: int = 1000,
    special_tokens: list[str] | tuple[str, ...] = (),
) -> list[str]:
    """Return the vocabulary in id order: special tokens, the alphabet, then merged pieces."""
    state = _State()
    for token in special_tokens:
        state.add(token)
    alphabet = _alphabet(word_counts, limit_alphabet)
    for ch in alphabet:
        state.add(ch)
    _split_words(state, word_counts, set(alphabet))
    _merge(state, vocab_size, min_frequency)
    return state.tokens[:vocab_size] if len(state.tokens) > vocab_size else state.tokens


def _alphabet(word_counts: Counter[str], limit: int) -> list[str]:
    chars: Counter[str] = Counter()
    for word, n in word_counts.items():
        for ch in word:
            chars[ch] += n
    ranked = sorted(chars.items(), key=lambda item: (-item[1], item[0]))
    return [ch for ch, _ in ranked[:limit]]


def _split_words(state: _State, word_counts: Counter[str], alphabet: set[str]) -> None:
    continuations: Counter[str] = Counter()
    for word, n in word_counts.items():
        for ch in word[1:]:
            if ch in alphabet:
                continuations[PREFIX + ch] += n
    for piece, _ in sorted(continuations.items(), key=lambda item: (-item[1], item[0])):
        state.add(piece)
    for word, n in sorted(word_counts.items()):
        symbols = [state.ids[word[0]] if word[0] in alphabet else -1]
        symbols += [state.ids[PREFIX + ch] if ch in alphabet else -1 for ch in word[1:]]
        index = len(state.words)
        state.words.append(symbols)
        state.counts.append(n)
        _count_pairs(state, index, +1)


def _count_pairs(state: _State, index: int, sign: int) -> None:
    symbols, n = state.words[index], state.counts[index]
    for pair in zip(symbols, symbols[1:]):
        if pair[0] < 0 or pair[1] < 0:
            continue
        state.pairs[pair] += sign * n
        if sign > 0:
            state.where.setdefault(pair, set()).add(index)


def _merge(state: _State, vocab_size: int, min_frequency: int) -> None:
    heap = [_entry(state, pair, n) for pair, n in state.pairs.items()]
    heapq.heapify(heap)
    while heap and len(state.tokens) < vocab_size:
        neg, _, pair = heapq.heappop(heap)
        count = state.pairs.get(pair, 0)
        if count <= 0:
            continue
        if -neg != count:  # stale entry: requeue with its current count
            heapq.heappush(heap, _entry(state, pair, count))
            continue
        if count < max(min_frequency, 1):
            break
        left, right = state.tokens[pair[0]], state.tokens[pair[1]]
        new_id = state.add(left + right[len(PREFIX):])
        touched = _apply(state, pair, new_id)
        for p in touched:
            if state.pairs.get(p, 0) > 0:
                heapq.heappush(heap, _entry(state, p, state.pairs[p]))


def _entry(state: _State, pair: tuple[int, int], count: int) -> tuple[int, tuple[str, str], tuple[int, int]]:
    # Highest count first; ties go to the pair whose pieces sort first, whatever the hash order.
    return (-count, (state.tokens[pair[0]], state.tokens[pair[1]]), pair)


def _apply(state: _State, pair: tuple[int, int], new_id: int) -> set[tuple[int, int]]:
    touched: set[tuple[int, int]] = set()
    for index in sorted(state.where.pop(pair, ())):
        symbols = state.words[index]
        _count_pairs(state, index, -1)
        merged, i = [], 0
        while i < len(symbols):
            if i + 1 < len(symbols) and symbols[i] == pair[0] and symbols[i + 1] == pair[1]:
                merged.append(new_id)
                i += 2
            else:
                merged.append(symbols[i])
                i += 1
        state.words[index] = merged
        _count_pairs(state, index, +1)
        touched.update(p for p in zip(merged, merged[1:]) if new_id in p)
    state.pairs.pop(pair, None)
    return touched
