"""Collocations ("new york" -> ``new_york``) learned from counts, as gensim's ``Phrases``.

Scores of an adjacent pair (a, b), with counts c(.), N words of text and |V| distinct unigrams
and bigrams counted (gensim's ``len(vocab)``):

- ``default`` (Mikolov et al. 2013): (c(ab) - min_count) / (c(a) c(b)) x |V|;
- ``npmi``: ln(p(ab) / (p(a) p(b))) / -ln p(ab), p(x) = c(x) / N, in [-1, 1]; pairs seen fewer
  than ``min_count`` times score -inf.

A pair becomes a phrase when its score is above ``threshold`` (with ``default`` that needs
c(ab) > min_count). Applying phrases is greedy from the left, one pair at a time (so "a b c" becomes
``a_b c`` when both ab and bc qualify); a second pass learns from the once-joined text, which
gives three- and four-word phrases (``new_york_times``).

Memory: the count table is pruned like gensim's (``max_vocab_size``): past ``max_vocab`` entries,
entries seen fewer than k times are dropped, k = 2 the first time and one more each time.

Artefact (kind ``phrases``)::

    DIR/config.json   kind, format_version, model (scoring, threshold, min_count, passes, ...), train
    DIR/phrases.tsv   pass<TAB>word_a<TAB>word_b<TAB>score<TAB>count, one learned phrase per line
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlpkit.errors import ArtifactError, ConfigError

log = logging.getLogger("nlpkit")

KIND = "phrases"
FORMAT_VERSION = 1
PHRASES_FILE = "phrases.tsv"


@dataclass
class PhrasesConfig:
    """Settings of ``nlpkit embed phrases``; each field is a CLI flag."""

    scoring: str = "default"  # default (Mikolov et al.) or npmi
    threshold: float | None = None  # None: 10 for default, 0.5 for npmi
    min_count: int = 5
    passes: int = 1  # each pass can join one more word onto a phrase
    delimiter: str = "_"
    max_vocab: int = 40_000_000  # count-table entries held before pruning (gensim's max_vocab_size)
    lowercase: bool = False

    def __post_init__(self) -> None:
        if self.scoring not in ("default", "npmi"):
            raise ConfigError(f"unknown --scoring {self.scoring!r}", "use default or npmi")
        if self.threshold is None:
            self.threshold = 10.0 if self.scoring == "default" else 0.5
        if self.min_count < 1 or self.passes < 1 or self.max_vocab < 1:
            raise ConfigError("--min-count, --passes and --max-vocab must be at least 1", None)
        if not self.delimiter or any(ch.isspace() for ch in self.delimiter):
            raise ConfigError(f"bad --delimiter {self.delimiter!r}", "use a non-empty string without spaces, e.g. _")


def count_pairs(sentences: Iterable[list[str]], max_vocab: int = 40_000_000) -> tuple[Counter[str], int, int]:
    """Unigram and adjacent-pair counts (pair key ``"a b"``), words seen, and the final prune level.

    A space cannot occur inside a whitespace-split token, so ``"a b"`` keys never clash with words.
    """
    counts: Counter[str] = Counter()
    words = 0
    min_reduce = 1
    for toks in sentences:
        words += len(toks)
        counts.update(toks)
        counts.update(map(" ".join, zip(toks, toks[1:])))
        if len(counts) > max_vocab:
            counts = Counter({k: c for k, c in counts.items() if c >= min_reduce + 1})
            min_reduce += 1
    return counts, words, min_reduce


def score(scoring: str, c_a: int, c_b: int, c_ab: int, vocab_size: int, words: int, min_count: int) -> float:
    """The pair score (see the module docstring); hand-checkable."""
    if scoring == "default":
        return (c_ab - min_count) / (c_a * c_b) * vocab_size
    if c_ab < min_count:
        return -math.inf
    pa, pb, pab = c_a / words, c_b / words, c_ab / words
    if pab >= 1.0:
        return 1.0
    return math.log(pab / (pa * pb)) / -math.log(pab)


def find_phrases(counts: Counter[str], words: int, cfg: PhrasesConfig) -> dict[tuple[str, str], tuple[float, int]]:
    """Pairs scoring above the threshold: (a, b) -> (score, count)."""
    found: dict[tuple[str, str], tuple[float, int]] = {}
    size = len(counts)
    for key, c_ab in counts.items():
        if " " not in key or c_ab < cfg.min_count:
            continue
        a, b = key.split(" ")
        c_a, c_b = counts.get(a, 0), counts.get(b, 0)
        if not c_a or not c_b:  # pruned
            continue
        s = score(cfg.scoring, c_a, c_b, c_ab, size, words, cfg.min_count)
        if s > cfg.threshold:
            found[(a, b)] = (s, c_ab)
    return found


def join_pairs(toks: list[str], pairs: dict[tuple[str, str], Any] | set[tuple[str, str]], delimiter: str = "_") -> list[str]:
    """Greedy left-to-right joining of known pairs: ``[a, b, c]`` -> ``[a_b, c]``."""
    out: list[str] = []
    i, n = 0, len(toks)
    while i < n:
        if i + 1 < n and (toks[i], toks[i + 1]) in pairs:
            out.append(toks[i] + delimiter + toks[i + 1])
            i += 2
        else:
            out.append(toks[i])
            i += 1
    return out


class Phraser:
    """Learned phrases, pass by pass; ``apply`` rewrites one line."""

    def __init__(self, passes: list[dict[tuple[str, str], tuple[float, int]]], cfg: PhrasesConfig) -> None:
        self.passes, self.cfg = passes, cfg

    def tokens(self, line: str) -> list[str]:
        toks = (line.lower() if self.cfg.lowercase else line).split()
        for pairs in self.passes:
            if len(toks) > 1:
                toks = join_pairs(toks, pairs, self.cfg.delimiter)
        return toks

    def apply(self, line: str) -> str:
        return " ".join(self.tokens(line))

    def __len__(self) -> int:
        return sum(len(p) for p in self.passes)

    def save(self, directory: Path) -> None:
        with open(directory / PHRASES_FILE, "w", encoding="utf-8", newline="\n") as f:
            for k, pairs in enumerate(self.passes, 1):
                for (a, b), (s, c) in sorted(pairs.items(), key=lambda kv: -kv[1][0]):
                    f.write(f"{k}\t{a}\t{b}\t{s:.6g}\t{c}\n")

    @classmethod
    def load(cls, directory: str | Path) -> Phraser:
        from nlpkit.artifacts import read_config

        config = read_config(directory, {KIND: FORMAT_VERSION})
        cfg = PhrasesConfig(**config["model"])
        passes: list[dict[tuple[str, str], tuple[float, int]]] = [{} for _ in range(cfg.passes)]
        for n, line in enumerate(open(Path(directory) / PHRASES_FILE, encoding="utf-8"), 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5 or not parts[0].isdigit() or not 1 <= int(parts[0]) <= cfg.passes:
                raise ArtifactError(f"{directory}/{PHRASES_FILE}:{n}: not pass<TAB>a<TAB>b<TAB>score<TAB>count", "relearn the phrases")
            passes[int(parts[0]) - 1][(parts[1], parts[2])] = (float(parts[3]), int(parts[4]))
        return cls(passes, cfg)


def learn_phrases(read: Callable[[], Iterator[str]], cfg: PhrasesConfig) -> tuple[Phraser, dict[str, Any]]:
    """Learn ``cfg.passes`` passes over the text ``read()`` yields (called once per pass)."""
    phraser = Phraser([], cfg)
    stats: dict[str, Any] = {"passes": []}
    for k in range(cfg.passes):
        counts, words, prune = count_pairs((phraser.tokens(line) for line in read()), cfg.max_vocab)
        found = find_phrases(counts, words, cfg)
        phraser.passes.append(found)
        stats["passes"].append({"words": words, "entries": len(counts), "pruned_below": prune, "phrases": len(found)})
        log.info("pass %d: %d words, %d count entries, %d phrases", k + 1, words, len(counts), len(found))
    return phraser, stats


def train_phrases(inputs: list[str], out_dir: str | Path, cfg: PhrasesConfig, *, strict_utf8: bool = False, text_field: str = "text") -> dict[str, Any]:
    """Learn phrases from ``inputs`` and publish a ``phrases`` artefact in ``out_dir``; returns stats."""
    from nlpkit.artifacts import artifact_writer, write_config
    from nlpkit.corpus import ReadStats, read_lines, require_lines
    from nlpkit.embeddings.training import config_dict, corpus_source
    from nlpkit.locking import output_lock

    out = Path(out_dir)
    read_stats = ReadStats()
    with output_lock(out), corpus_source(inputs, out, False, KIND) as sources:
        passes = iter(range(cfg.passes))

        def read() -> Iterator[str]:
            stats = read_stats if next(passes) == 0 else None  # count the input once
            return require_lines(read_lines(sources, strict_utf8=strict_utf8, text_field=text_field, stats=stats), "input")

        phraser, stats = learn_phrases(read, cfg)
        with artifact_writer(out, kind=KIND, force=True) as tmp:  # learning again replaces our own phrases model
            phraser.save(tmp)
            write_config(tmp, KIND, model=config_dict(cfg), train=stats, data=read_stats.summary(), format_version=FORMAT_VERSION)
    return {**stats, "phrases": len(phraser)}


def phrase_lines(model_dir: str | Path, lines: Iterable[str]) -> Iterator[str]:
    """Each line with the learned phrases joined (one line out per line in)."""
    return map(Phraser.load(model_dir).apply, lines)
