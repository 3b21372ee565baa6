"""The pre-training example stream: corpus -> masked examples -> batches, epoch after epoch.

Every random choice is drawn from a ``random.Random`` seeded by a string naming what it is for
(Python seeds string seeds through SHA-512, so they are the same in every process):

- pairing (``pairs/…``) and shuffling (``shuffle/…``) per (seed, epoch, rank); with static masking the
  pairing ignores the epoch, so every epoch sees the same pairs with the same masks, reshuffled;
- masking per example (``mask/…``), from its creation index; dynamic masking adds the epoch.

The stream is therefore a pure function of the corpus, the tokenizer and these settings, and the
data position of a job is one number: how many examples it has consumed.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlpkit.bert.data import (
    Example,
    PairSpec,
    collate,
    make_instances,
    mask_instance,
    read_documents,
    require_examples,
    shard,
    shuffled,
    tokenize_documents,
)
from nlpkit.bert.masking import MaskingSpec
from nlpkit.corpus import STDIN, ReadStats, read_lines, require_lines
from nlpkit.errors import CorpusError

if TYPE_CHECKING:
    from tokenizers import Tokenizer


@dataclass
class StreamSpec:
    inputs: Sequence[str | Path]
    documents: str = "blank-lines"
    seed: int = 0
    rank: int = 0
    world_size: int = 1
    static_masking: bool = False
    shuffle_buffer: int = 10000
    strict_utf8: bool = False
    text_field: str = "text"
    stats: ReadStats = field(default_factory=ReadStats)


def epoch_examples(spec: StreamSpec, tok: Tokenizer, pairs: PairSpec, masking: MaskingSpec, epoch: int) -> Iterator[Example]:
    """One pass over this rank's shard of the corpus."""
    stats = spec.stats if epoch == 0 else ReadStats()
    lines = require_lines(read_lines(spec.inputs, strict_utf8=spec.strict_utf8, text_field=spec.text_field, stats=stats), "corpus")
    docs = shard(read_documents(lines, spec.documents), spec.rank, spec.world_size)
    pairing = f"{spec.seed}/{spec.rank}" if spec.static_masking else f"{spec.seed}/{epoch}/{spec.rank}"
    instances = require_examples(make_instances(tokenize_documents(docs, tok), pairs, random.Random(f"pairs/{pairing}")), "corpus")
    for inst in shuffled(instances, spec.shuffle_buffer, random.Random(f"shuffle/{spec.seed}/{epoch}/{spec.rank}")):
        yield mask_instance(inst, masking, random.Random(f"mask/{pairing}/{inst.index}"))


def example_stream(spec: StreamSpec, tok: Tokenizer, pairs: PairSpec, masking: MaskingSpec) -> Iterator[Example]:
    """Epochs without end; standard input can be read only once, so it gives one epoch."""
    for epoch in itertools.count():
        if epoch > 0 and _is_stdin(spec.inputs):
            raise CorpusError("standard input ran out after one pass", "give the corpus as a file or lower --steps")
        yield from epoch_examples(spec, tok, pairs, masking, epoch)


def _is_stdin(inputs: Sequence[str | Path]) -> bool:
    return not inputs or any(str(i) == STDIN for i in inputs)


def batches(examples: Iterator[Example], batch_size: int, pad_id: int) -> Iterator[dict[str, Any]]:
    while True:
        chunk = list(itertools.islice(examples, batch_size))
        if not chunk:
            return
        yield collate(chunk, pad_id)


class StreamedBatches:
    """A job's batches as the engine's sequence: ``steps * grad_accum * world_size`` batches, read in order.

    The engine indexes batches by position and, under torchrun, gives rank r the slice
    ``[r::world_size]``; this rank's stream already is its shard, so that slice is simply the
    stream read from the start. A resumed job's first index replays the stream up to it (the
    examples are a pure function of the settings), as the data position of a job is one number.
    """

    def __init__(self, make_examples: Callable[[], Iterator[Example]], batch_size: int, pad_id: int, total: int, world_size: int = 1) -> None:
        self.make_examples, self.batch_size, self.pad_id = make_examples, batch_size, pad_id
        self.total, self.world_size = total, world_size
        self._batches: Iterator[dict[str, Any]] | None = None
        self._next = 0  # the local index the open stream yields next

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):  # the engine's shard of a torchrun job: this rank's own stream
            local = StreamedBatches(self.make_examples, self.batch_size, self.pad_id, len(range(*index.indices(self.total))))
            return local
        if self._batches is None or index < self._next:
            self._open(index)
        while self._next < index:  # the engine reads in order; a gap is skipped
            next(self._batches)
            self._next += 1
        self._next += 1
        return next(self._batches)

    def _open(self, start: int) -> None:
        from nlpkit.pumps import prefetch

        if self._batches is not None:
            self._batches.close()
        examples = itertools.islice(self.make_examples(), start * self.batch_size, None)
        self._batches = prefetch(batches(examples, self.batch_size, self.pad_id))
        self._next = start
