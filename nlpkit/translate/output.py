"""Formatting translations for stdout (text or JSONL) and the attention plot of one sentence."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from nlpkit.translate.decode import Translation
from nlpkit.translate.vocab import pieces


def _sig(x: float, digits: int = 6) -> float:
    return float(f"{x:.{digits}g}")


def text_record(t: Translation, echo: bool = False) -> str:
    """The best translation; with n-best, the hypotheses separated by tabs (best first); with
    ``echo``, the source line as the last column."""
    cells = [text.replace("\t", " ") for text in t.texts]
    if echo:
        cells.append(t.source.replace("\t", " "))
    return "\t".join(cells)


def jsonl_record(t: Translation, tgt_tokenizer, attention: bool) -> str:
    """``text`` is the source line (``source``: its old name, kept for one release); in each
    hypothesis ``text`` is the translation, ``logprob`` its natural-log probability and ``score``
    that divided by the length term. Floats carry 6 significant digits (attention weights 4)."""
    hyps = []
    for h, text in zip(t.hypotheses, t.texts):
        item = {
            "text": text,
            "tokens": pieces(tgt_tokenizer, h.tokens),
            "score": _sig(h.score),
            "logprob": _sig(h.logprob),
            "length": len(h.tokens) + 1,
            "length_term": _sig(h.length_term),
            "positional_scores": [_sig(s) for s in h.positional_scores],
        }
        if attention and h.attention is not None:
            item["attention"] = [[round(w, 4) for w in row] for row in h.attention]
        hyps.append(item)
    record = {"text": t.source, "source": t.source, "source_tokens": t.source_pieces, "hypotheses": hyps}
    return json.dumps(record, ensure_ascii=False)


def with_plot(translations: Iterable[Translation], tgt_tokenizer, path: str | Path, line: int) -> Iterator[Translation]:
    """Pass translations through, drawing the attention of input line ``line`` (from 1) on the way."""
    from nlpkit.translate.plot import plot_attention

    for number, t in enumerate(translations, 1):
        if number == line and t.hypotheses and t.hypotheses[0].attention is not None:
            best = t.hypotheses[0]
            target = [*pieces(tgt_tokenizer, best.tokens), "[EOS]"]
            plot_attention(t.source_pieces, target, best.attention, path, title=f"{t.source}  ->  {t.text}")
        yield t


def check_plot(translator, want_attention: bool) -> None:
    """Attention output needs a model that has attention."""
    from nlpkit.errors import ConfigError

    if want_attention and translator.config["model"].get("arch") == "rnn":
        raise ConfigError("this model (--arch rnn) has no attention to show", "use an rnn-attn or transformer model")
