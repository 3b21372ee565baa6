"""Parallel text: reading sentence pairs, and length-bucketed batches for training.

Pairs come from TSV files (columns chosen with ``src_col``/``tgt_col``, counted from 1, like
``cut -f``) or from two line-aligned files. Pairs with an empty side are skipped and counted.
Batches hold sentences of similar length, at most ``max_tokens`` padded tokens on the longer side,
so little compute is spent on padding.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING

from nlpkit.corpus import ReadStats, read_lines
from nlpkit.errors import ConfigError, CorpusError

if TYPE_CHECKING:
    import torch

log = logging.getLogger("nlpkit")


@dataclass
class ParallelSource:
    """Where pairs come from: TSV ``inputs``, or ``src_file`` + ``tgt_file``."""

    inputs: Sequence[str | Path] | None = None
    src_file: str | Path | None = None
    tgt_file: str | Path | None = None
    src_col: int = 1
    tgt_col: int = 2
    strict_utf8: bool = False

    def __post_init__(self) -> None:
        two_files = self.src_file is not None or self.tgt_file is not None
        if two_files and (self.src_file is None or self.tgt_file is None):
            raise ConfigError("--src and --tgt go together", "give both files, or one TSV file")
        if two_files and self.inputs:
            raise ConfigError("give either a TSV file or --src/--tgt, not both")
        if not two_files and not self.inputs:
            raise ConfigError("no training data", "give a TSV file (source<TAB>target) or --src FILE --tgt FILE")
        if self.src_col < 1 or self.tgt_col < 1 or self.src_col == self.tgt_col:
            raise ConfigError("--src-col and --tgt-col must be different column numbers counted from 1")

    def describe(self) -> str:
        if self.src_file is not None:
            return f"{self.src_file} + {self.tgt_file}"
        return ", ".join(str(i) for i in self.inputs or [])


def read_pairs(source: ParallelSource, what: str = "training data", stats: ReadStats | None = None) -> tuple[list[str], list[str]]:
    """Read all pairs; raises CorpusError when there is none or a line lacks a column."""
    stats = stats if stats is not None else ReadStats()
    if source.src_file is not None:
        pairs = _read_two_files(source, stats)
    else:
        pairs = _read_tsv(source, stats)
    src, tgt, skipped = [], [], 0
    for s, t in pairs:
        s, t = s.strip(), t.strip()
        if not s or not t:
            skipped += 1
            continue
        src.append(s)
        tgt.append(t)
    if not src:
        raise CorpusError(f"the {what} ({source.describe()}) has no sentence pairs", "give source<TAB>target lines")
    if skipped:
        log.info("skipped %d pair(s) with an empty side in the %s", skipped, what)
    return src, tgt


def _read_tsv(source: ParallelSource, stats: ReadStats):
    need = max(source.src_col, source.tgt_col)
    for lineno, line in enumerate(read_lines(source.inputs, strict_utf8=source.strict_utf8, stats=stats), 1):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) < need:
            where = stats.sources[-1] if stats.sources else "input"
            raise CorpusError(
                f"line {lineno} of {where} has {len(cols)} column(s), but column {need} is needed",
                "give tab-separated source<TAB>target lines, or choose columns with --src-col/--tgt-col",
            )
        yield cols[source.src_col - 1], cols[source.tgt_col - 1]


def _read_two_files(source: ParallelSource, stats: ReadStats):
    src = read_lines([source.src_file], strict_utf8=source.strict_utf8, stats=stats)
    tgt = read_lines([source.tgt_file], strict_utf8=source.strict_utf8)
    for lineno, (s, t) in enumerate(zip_longest(src, tgt), 1):
        if s is None or t is None:
            shorter = source.src_file if s is None else source.tgt_file
            raise CorpusError(f"{shorter} ends at line {lineno - 1} but the other file goes on", "the files must be line-aligned")
        yield s, t


@dataclass
class Batch:
    src: torch.Tensor  # (B, S) source ids, padded
    src_mask: torch.Tensor  # (B, S) True on real tokens
    tgt_in: torch.Tensor  # (B, T) BOS + target: the decoder's inputs under teacher forcing
    tgt_out: torch.Tensor  # (B, T) target + EOS: what it must predict; padding is pad_id
    index: list[int]  # positions of these pairs in the data
    pad_id: int = 0

    @property
    def n_tokens(self) -> int:
        return int(self.tgt_out.ne(self.pad_id).sum())

    def to(self, device: torch.device) -> Batch:
        return Batch(self.src.to(device), self.src_mask.to(device), self.tgt_in.to(device), self.tgt_out.to(device), self.index, self.pad_id)


def bucket(lengths: Sequence[tuple[int, int]], max_tokens: int, rng: random.Random | None = None) -> list[list[int]]:
    """Group pair indices into batches of similar length, at most ``max_tokens`` padded tokens each.

    ``lengths`` holds (source, target) lengths. With ``rng``, ties are broken at random and the batch
    order is shuffled (training); without, batches come sorted by length (decoding, validation).
    """
    if max_tokens < 1:
        raise ConfigError("--max-tokens must be at least 1")
    keys = [(max(s, t), rng.random() if rng else 0.0, i) for i, (s, t) in enumerate(lengths)]
    order = [i for _, _, i in sorted(keys)]
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for i in order:
        size = max(lengths[i]) + 1  # + BOS/EOS
        if current and max(longest, size) * (len(current) + 1) > max_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, size)
    if current:
        batches.append(current)
    if rng is not None:
        rng.shuffle(batches)
    return batches


def pad(seqs: Sequence[Sequence[int]], pad_id: int) -> torch.Tensor:
    import torch

    width = max((len(s) for s in seqs), default=1) or 1
    out = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return out


def make_batch(src_ids, tgt_ids, index: list[int], *, pad_id: int, bos_id: int, eos_id: int) -> Batch:
    """Collate the pairs at ``index`` (source ids are used as they are; no BOS/EOS on the source)."""
    src = pad([src_ids[i] for i in index], pad_id)  # (B, S)
    tgt_in = pad([[bos_id, *tgt_ids[i]] for i in index], pad_id)  # (B, T)
    tgt_out = pad([[*tgt_ids[i], eos_id] for i in index], pad_id)  # (B, T)
    return Batch(src, src.ne(pad_id), tgt_in, tgt_out, list(index), pad_id)


def source_batches(src_ids: Sequence[Sequence[int]], max_tokens: int, max_sentences: int) -> list[list[int]]:
    """Decoding batches: sorted by source length, at most ``max_tokens`` and ``max_sentences`` each."""
    lengths = [(len(s), len(s)) for s in src_ids]
    out = []
    for b in bucket(lengths, max_tokens):
        out.extend(b[i : i + max_sentences] for i in range(0, len(b), max_sentences))
    return out
