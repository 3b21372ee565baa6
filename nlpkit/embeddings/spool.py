"""Encoded chunks kept on disk after the first full pass, so later epochs skip reading and encoding.

Turning text into word ids costs Python time per token, which a compiled trainer would otherwise
wait on every epoch. The first pass that starts at the beginning of the corpus writes each chunk's
ids and sentence numbers (int32) to an unnamed temporary file beside the output; once that pass
completes, later epochs read the chunks back (memory: one chunk). Disk: 8 bytes per word.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from nlpkit.embeddings.batches import Chunk


class ChunkSpool:
    """Records chunks once, replays them afterwards; ``close`` removes the file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.file = None
        self.index: list[tuple[int, int, int, int]] = []  # (offset, n, words, lines) per chunk
        self.complete = False

    def record(self, chunks: Iterable[Chunk]) -> Iterator[Chunk]:
        """Pass ``chunks`` through, writing them; the spool is complete if the pass ends."""
        if self.file is not None:
            self.file.close()
        self.file = tempfile.TemporaryFile(prefix=".nlpkit-chunks-", dir=self.directory)
        self.index, offset = [], 0
        for chunk in chunks:
            data = np.stack([chunk.ids, chunk.sentence]).astype(np.int32)  # (2, n)
            self.file.write(data.tobytes())
            self.index.append((offset, len(chunk.ids), chunk.words, chunk.lines))
            offset += data.nbytes
            yield chunk
        self.file.flush()
        self.complete = True

    def replay(self, start: int = 0) -> Iterator[Chunk]:
        """The recorded chunks from number ``start`` on."""
        assert self.file is not None and self.complete
        for offset, n, words, lines in self.index[start:]:
            self.file.seek(offset)
            data = np.fromfile(self.file, np.int32, 2 * n).reshape(2, n).astype(np.int64)
            yield Chunk(data[0], data[1], words, lines)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
