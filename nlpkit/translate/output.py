"""Formatting translations for stdout (text or JSONL) and the attention plot of one sentence."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from nlpkit.translate.decode import Translation
from nlpkit.translate.vocab import pieces


def text_record(t: Translation) -> str:
    """The best translation; with n-best, the hypotheses separated by tabs (best first)."""
    return "\t".join(text.replace("\t", " ") for text in t.texts)


def jsonl_record(t: Translation, tgt_tokenizer, attention: bool) -> str:
    hyps = []
    for h, text in zip(t.hypotheses, t.texts):
        item = {
            "text": text,
            "tokens": pieces(tgt_tokenizer, h.tokens),
            "score": round(h.score, 6),
            "logprob": round(h.logprob, 6),
            "length": len(h.tokens) + 1,
            "length_term": round(h.length_term, 6),
            "positional_scores": [round(s, 6) for s in h.positional_scores],
        }
        if attention and h.attention is not None:
            item["attention"] = [[round(w, 4) for w in row] for row in h.attention]
        hyps.append(item)
    record = {"source": t.source, "source_tokens": t.source_pieces, "hypotheses": hyps}
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
