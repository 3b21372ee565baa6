"""`translate eval`: sacreBLEU of a model on a test set, one row per beam size, and BLEU by length."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from nlpkit.corpus import read_lines
from nlpkit.errors import CorpusError
from nlpkit.translate.beam import BeamConfig
from nlpkit.translate.bleu import bleu_by_length, corpus_bleu
from nlpkit.translate.decode import translate_texts
from nlpkit.translate.model import Translator


def evaluate(
    translator: Translator,
    sources: Sequence[str],
    references: Sequence[str],
    beams: Sequence[int],
    base: BeamConfig,
    *,
    max_tokens: int = 4000,
) -> dict[str, Any]:
    """Translate ``sources`` once per beam size and score against ``references``.

    Returns {"rows": [{beam, bleu, signature, bp, sys_len, ref_len, precisions, seconds}],
    "by_length": [{beam, bucket, sentences, bleu}], "sentences": n}.
    """
    if len(sources) != len(references):
        raise CorpusError(f"--src has {len(sources)} lines but --ref has {len(references)}", "the files must be line-aligned")
    if not sources:
        raise CorpusError("the test set is empty", "give --src and --ref files with text")
    rows, by_length = [], []
    for k in beams:
        config = replace(base, beam=k, nbest=1, attention=False)
        start = time.monotonic()
        hyps = translate_texts(translator, list(sources), config, max_tokens=max_tokens)
        seconds = round(time.monotonic() - start, 2)
        score = corpus_bleu(hyps, references)
        rows.append({"beam": k, "bleu": score.score, "signature": score.signature, "bp": score.bp,
                     "sys_len": score.sys_len, "ref_len": score.ref_len, "precisions": score.precisions, "seconds": seconds})
        by_length += [{"beam": k, **row} for row in bleu_by_length(sources, hyps, references)]
    return {"sentences": len(sources), "rows": rows, "by_length": by_length}


def read_test_set(src: str | Path, ref: str | Path, strict_utf8: bool = False) -> tuple[list[str], list[str]]:
    """Read line-aligned source and reference files."""
    sources = list(read_lines([src], strict_utf8=strict_utf8))
    references = list(read_lines([ref], strict_utf8=strict_utf8))
    return sources, references
