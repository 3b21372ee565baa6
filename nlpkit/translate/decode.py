"""Translating lines with a trained model: batched beam search, results in input order.

Lines are read in chunks (256 by default, so output streams while input is still being read);
inside a chunk they are sorted by length into batches (at most ``max_tokens`` source pieces and
``max_sentences`` sentences) so padding stays small, each batch is decoded at once by
``beam_search`` (every hypothesis of every sentence in one tensor; finished sentences leave the
batch), and the chunk's results are written back in input order. An empty line gives an empty
translation. With ``chunk_lines`` 1 (interactive use) each line is translated as soon as it is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from nlpkit.translate.beam import BeamConfig, Hypothesis, beam_search
from nlpkit.translate.data import pad, source_batches
from nlpkit.translate.model import Translator
from nlpkit.translate.vocab import BOS_ID, EOS_ID, PAD_ID, decode, encode, pieces


@dataclass
class Translation:
    source: str
    source_pieces: list[str]
    hypotheses: list[Hypothesis]  # best first; empty for an empty line
    texts: list[str]  # detokenised text of each hypothesis

    @property
    def text(self) -> str:
        return self.texts[0] if self.texts else ""


def translate_lines(
    translator: Translator,
    lines: Iterable[str],
    beam: BeamConfig,
    *,
    max_tokens: int = 4000,
    max_sentences: int = 128,
    chunk_lines: int = 256,
) -> Iterator[Translation]:
    """Yield one Translation per input line, in input order."""
    model = translator.model
    model.want_attention = beam.attention  # read by the Transformer's step
    it = iter(lines)
    while True:
        chunk = list(islice(it, chunk_lines))
        if not chunk:
            return
        yield from _translate_chunk(translator, chunk, beam, max_tokens, max_sentences)


def _translate_chunk(translator: Translator, chunk: list[str], beam: BeamConfig, max_tokens: int, max_sentences: int):
    import torch

    vocabs = translator.vocabs
    ids = encode(vocabs.src, chunk, max_len=translator.max_len)
    results: list[list[Hypothesis]] = [[] for _ in chunk]
    todo = [i for i, s in enumerate(ids) if s]
    for batch in source_batches([ids[i] for i in todo], max_tokens, max_sentences):
        index = [todo[b] for b in batch]
        src = pad([ids[i] for i in index], PAD_ID).to(translator.device)  # (B, S)
        with torch.inference_mode():
            hyps = beam_search(
                translator.model, src, src.ne(PAD_ID), beam,
                bos_id=BOS_ID, eos_id=EOS_ID, pad_id=PAD_ID, max_len_cap=translator.max_len,
            )
        for i, h in zip(index, hyps):
            results[i] = h
    for line, src_ids, hyps in zip(chunk, ids, results):
        texts = [decode(vocabs.tgt, h.tokens) for h in hyps]
        yield Translation(line, pieces(vocabs.src, src_ids), hyps, texts)


def translate_texts(translator: Translator, lines: list[str], beam: BeamConfig, max_tokens: int = 4000) -> list[str]:
    """Best translation of each line (for evaluation)."""
    return [t.text for t in translate_lines(translator, lines, beam, max_tokens=max_tokens)]
