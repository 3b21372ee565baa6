"""Scoring with an n-gram model: vectorised over many sentences at once, numpy only (no torch).

Scoring a batch of sentences is one pass per order over all its tokens: extend the match ending at
every position one word to the left (``NgramBinary.find``), and combine ``log p = logp(longest
match) + sum of the backoffs of the longer contexts`` (the ARPA back-off rule). The k-gram ending at
a position is looked up only if its (k-1)-gram suffix was found: ARPA files are suffix-closed
(KenLM relies on this too).

Text options stored with the model apply to every line before scoring or sampling: ``lowercase``,
and ``tokenizer`` (the n-gram then runs over WordPiece pieces; ``[UNK]`` pieces are ``<unk>``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np

from nlpkit.artifacts import read_config
from nlpkit.lm.binary import NgramBinary

log = logging.getLogger("nlpkit")

_SEP = "\x00nlpkit\x00"  # joins lines for one big split(); split() never yields it from real text
_SEARCHED = 64  # tokens looked up by searching the vocabulary text before the index is built (``ids``)


@dataclass
class Scores:
    """Per-token log10 probabilities of a batch of sentences (each with </s>, without <s>)."""

    logp: np.ndarray  # (tokens,) float64
    length: np.ndarray  # (tokens,) int: n-gram order used
    oov: np.ndarray  # (tokens,) bool
    line: np.ndarray  # (tokens,) int: sentence index in the batch
    ids: np.ndarray  # (tokens,) int: the word id scored


class NgramModel:
    """The tables (``NgramBinary``), the vocabulary and the text options.

    The vocabulary is ``words``, or ``vocab_text`` (vocab.txt: one word per line): then the word
    list and the word -> id index are built when first needed, and a one-off query of a few words
    finds them in the text instead (building the index of a large vocabulary costs more).
    """

    def __init__(self, words: list[str] | None, tables: NgramBinary, unk_id: int, bos_id: int, eos_id: int, *,
                 lowercase: bool = False, tokenizer=None, vocab_text: str | None = None) -> None:  # noqa: ANN001
        self._words, self._text, self.tables = words, vocab_text, tables
        self._index: dict[str, int] | None = None
        self._searched = 0
        self.order = tables.order
        self.unk_id, self.bos_id, self.eos_id = unk_id, bos_id, eos_id
        self.lowercase, self.tokenizer = lowercase, tokenizer

    @classmethod
    def from_tables(cls, tables, quantize: int = 0, **text) -> NgramModel:  # noqa: ANN001 - NgramTables
        binary = NgramBinary.build(tables.rows, tables.logp, tables.backoff, len(tables.words), quantize)
        return cls(list(tables.words), binary, tables.unk_id, tables.bos_id, tables.eos_id, **text)

    # -- vocabulary ----------------------------------------------------------------------------
    @property
    def words(self) -> list[str]:
        if self._words is None:
            self._words = self._text.split("\n")[:-1]
        return self._words

    @property
    def index(self) -> dict[str, int]:
        if self._index is None:
            self._index = dict(zip(self.words, range(len(self.words))))
            self._index[_SEP] = -1  # the line separator of ``encode``; never a word of split() text
        return self._index

    @property
    def _get(self):  # noqa: ANN202 - dict.get of ``index``
        return self.index.get

    def ids(self, tokens: list[str]) -> np.ndarray:
        """Id of each token (``unk_id`` when unknown; -1 for the line separator)."""
        if self._index is None and self._text is not None and self._searched + len(tokens) <= _SEARCHED:
            self._searched += len(tokens)  # (a long stream of short batches soon builds the index)
            return np.array([self._find(t) for t in tokens], np.int64)
        return np.fromiter(map(self._get, tokens, repeat(self.unk_id)), np.int64, len(tokens))

    def _find(self, token: str) -> int:
        """Id of ``token`` by searching vocab.txt: word i follows the i-th newline."""
        if token == _SEP:
            return -1
        if self._text.startswith(token + "\n"):
            return 0
        at = self._text.find(f"\n{token}\n")
        return self.unk_id if at < 0 else self._text.count("\n", 0, at + 1)

    # -- text ----------------------------------------------------------------------------------
    def prepare(self, lines: list[str]) -> list[str]:
        """The lines as the model sees them: lowercased and/or split into pieces when so trained."""
        if self.lowercase:
            lines = [line.lower() for line in lines]
        if self.tokenizer is not None:
            encoded = self.tokenizer.encode_batch(lines, add_special_tokens=False)
            lines = [" ".join(e.tokens).replace("[UNK]", "<unk>") for e in encoded]
        return lines

    def count_words(self, lines: list[str], s: Scores) -> list[int]:
        """``n_tokens`` of each line: its words + 1 (pieces do not count; perplexity stays per word)."""
        if self.tokenizer is not None:
            return [len(line.split()) + 1 for line in lines]
        return np.bincount(s.line, minlength=len(lines)).tolist()

    def encode(self, lines: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Ids of ``<s> words </s>`` for each line, concatenated, and each sentence's length.

        One ``split()`` of all lines joined by a separator token and one C-level ``map`` over the
        tokens: no Python loop per line or per word.
        """
        ids = self.ids(f" {_SEP} ".join(lines).split())
        sep = np.flatnonzero(ids == -1)  # (lines - 1,) boundaries
        # Each boundary becomes </s> <s>; the text gets a leading <s> and a trailing </s>.
        out = np.repeat(ids, np.where(ids == -1, 2, 1))
        at = sep + np.arange(len(sep))  # where each boundary's first copy landed
        out[at], out[at + 1] = self.eos_id, self.bos_id
        out = np.concatenate([[self.bos_id], out, [self.eos_id]])
        bounds = np.concatenate([[-1], sep, [len(ids)]])
        lens = np.diff(bounds) + 1  # words + <s> + </s>
        return out, lens

    # -- scoring -------------------------------------------------------------------------------
    def score_ids(self, ids: np.ndarray, lens: np.ndarray) -> Scores:
        """Scores of every token after <s> of the sentences laid out by ``encode``."""
        line_of = np.repeat(np.arange(len(lens)), lens)
        pos = np.arange(len(ids)) - (np.cumsum(lens) - lens)[line_of]  # position in the sentence, <s> = 0
        lp, length = self._score_positions(ids, pos)
        target = np.flatnonzero(pos >= 1)
        scored = ids.take(target)
        return Scores(lp.take(target), length.take(target), scored == self.unk_id, line_of.take(target), scored)

    def score_tokens(self, token_lines: list[str]) -> Scores:
        """Scores of lines already prepared (``prepare``)."""
        return self.score_ids(*self.encode(token_lines))

    def score_lines(self, lines: list[str]) -> Scores:
        return self.score_tokens(self.prepare(lines))

    def next_logprobs(self, context: list[int]) -> np.ndarray:
        """log10 p(w | context) for every word id w (the context starts with <s>); -inf for <s>."""
        cand = np.arange(len(self.words), dtype=np.int64)
        ctx = np.asarray(context[-(self.order - 1):] if self.order > 1 else [], np.int64)
        n_ctx = len(ctx)
        ids = np.tile(np.append(ctx, 0), len(cand))  # each candidate after its own copy of the context
        ids[n_ctx :: n_ctx + 1] = cand
        lens = np.full(len(cand), n_ctx + 1)
        line_of = np.repeat(np.arange(len(cand)), lens)
        pos = np.arange(len(ids)) - (np.cumsum(lens) - lens)[line_of]
        scores, _ = self._score_positions(ids, pos)
        out = scores[n_ctx :: n_ctx + 1]
        out[self.bos_id] = -np.inf
        return out

    def _score_positions(self, ids: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log10 p of each token given the ``pos`` tokens before it, and the n-gram length used.

        ARPA back-off: log p(w | h) = logp(longest match of length m) + the backoffs of the
        contexts of lengths m .. |h| (the words right before w; a missing context adds 0). The sum
        is taken in float32, the precision of the stored values, shortest context first: KenLM's
        order and precision, so each token's value equals KenLM's ``full_scores`` bit for bit
        (float64 sums drift from KenLM's by ~1e-5 over a 600-word line).
        """
        t = self.tables
        n = len(ids)
        lp = t.uni_logp.take(ids)  # (n,) float32
        bo = np.zeros((max(self.order - 1, 1), n), np.float32)  # bo[j-1, i]: backoff of the j-gram ending at i
        if self.order > 1:
            bo[0] = t.uni_backoff.take(ids)
        length = np.ones(n, np.int64)
        word_key = ids.astype(np.uint64) + np.uint64(1)  # each word's part of a packed key, computed once
        live = np.flatnonzero(pos >= 1)  # positions whose (k-1)-gram was found
        slot = ids.take(live)  # slot of the (k-1)-gram ending at each live position (unigrams: the id)
        # (take with index arrays rather than boolean masks: several times faster in numpy)
        for k in range(2, self.order + 1):
            ok = np.flatnonzero(pos.take(live) >= k - 1)
            live, slot = live.take(ok), slot.take(ok)
            slot = t.find_packed(k, slot, word_key.take(live - (k - 1)))
            hit = np.flatnonzero(slot >= 0)
            live, slot = live.take(hit), slot.take(hit)
            lp[live] = t.value(k, "logp", slot)
            length[live] = k
            if k < self.order:
                bo[k - 1, live] = t.value(k, "backoff", slot)
        bo[:, np.flatnonzero(pos[1:] == 0)] = 0.0  # a sentence's first token has no history
        tail = lp[1:]
        for j in range(1, self.order):  # context length j, shortest first
            tail += np.where(length[1:] <= j, bo[j - 1, :-1], np.float32(0.0))
        return lp.astype(np.float64), length


def load_tokenizer(path: str | Path):  # noqa: ANN201 - tokenizers.Tokenizer, imported only when a model has one
    from nlpkit.wordpiece import load_tokenizer as load

    return load(path)


def load_ngram(model_dir: str | Path, config: dict | None = None) -> NgramModel:
    d = Path(model_dir)
    config = config or read_config(d, {"ngram_lm": 2})
    model_cfg = config.get("model", {})
    text = {"lowercase": bool(model_cfg.get("lowercase")),
            "tokenizer": load_tokenizer(d / "tokenizer.json") if model_cfg.get("tokenizer") else None}
    if config["format_version"] < 2:
        log.warning("warning: %s is an old-format n-gram model; re-import it with `nlpkit lm import %s -o NEW` "
                    "for fast loading", d, d / "model.arpa")
        from nlpkit.lm.arpa import read_arpa

        return NgramModel.from_tables(read_arpa(d / "model.arpa"), **text)
    vocab_text = (d / "vocab.txt").read_text(encoding="utf-8")
    s = config["specials"]
    return NgramModel(None, NgramBinary.load(d / "ngram.bin"), s["unk_id"], s["bos_id"], s["eos_id"], **text,
                      vocab_text=vocab_text)
