"""Building a tagger for training: its vocabulary or WordPiece encoder, the model, transferred weights.

``--vectors DIR``: the vocabulary also holds the (lowercased) words the vectors know, up to
``VECTOR_WORDS`` of them, so a test word never seen in training still gets its pre-trained vector;
rows are copied with ``classify.vectors.init_embeddings`` (unknown words drawn with the vectors'
spread). ``--arch bert``: the encoder's weights are copied in and its tokenizer is used.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from nlpkit.errors import ConfigError
from nlpkit.tag.artifact import build_model
from nlpkit.tag.config import TagConfig
from nlpkit.tag.data import TagData
from nlpkit.tag.encode import PieceEncoder, TagVocab

log = logging.getLogger("nlpkit")
VECTOR_WORDS = 50_000  # most vector words added to the vocabulary (vector files list frequent words first); every
# row of a fine-tuned embedding is updated at each step, so the table is kept to a size that costs little


def build_for_training(cfg: TagConfig, data: TagData, vocab_json: dict[str, Any] | None = None) -> tuple[Any, TagVocab | PieceEncoder, TagConfig]:
    """(model, encoder, cfg with sizes resolved). ``vocab_json``: a resumed job's vocabulary."""
    if cfg.arch == "bert":
        return _bert(cfg, data)
    extra: list[str] = []
    if cfg.vectors:
        from nlpkit.classify.vectors import load_vectors

        wv = load_vectors(cfg.vectors)
        if cfg.d_model is not None and cfg.d_model != wv.dim:
            raise ConfigError(f"--d-model {cfg.d_model} differs from the --vectors size {wv.dim}", "leave --d-model out with --vectors")
        cfg = replace(cfg, d_model=wv.dim)
        extra = [w.lower() if cfg.lowercase else w for w in wv.words[:VECTOR_WORDS]]
    if vocab_json is not None:
        vocab = TagVocab(vocab_json["words"], vocab_json["chars"], vocab_json["tags"], vocab_json["lowercase"])
    else:
        vocab = TagVocab.build((s.tokens for s in data.train), data.tags, cfg.min_count, cfg.lowercase, extra)
    model = build_model(cfg, data.tags, data.scheme, vocab)
    if cfg.vectors and vocab_json is None:
        from nlpkit.classify.vectors import init_embeddings
        from nlpkit.classify.vocab import WordVocab

        init_embeddings(model.word_embed, WordVocab(vocab.words), cfg.vectors)
    log.info("vocabulary: %d words, %d characters", len(vocab.words), len(vocab.chars))
    return model, vocab, cfg


def _bert(cfg: TagConfig, data: TagData) -> tuple[Any, PieceEncoder, TagConfig]:
    from nlpkit.bert.artifact import load_bert, special_ids

    encoder, tok, _ = load_bert(cfg.bert, "cpu")  # type: ignore[arg-type]
    if cfg.max_len > encoder.cfg.max_position:
        cfg = replace(cfg, max_len=encoder.cfg.max_position)
    ids = special_ids(tok, str(cfg.bert))
    model = build_model(cfg, data.tags, data.scheme, None, encoder.cfg)  # type: ignore[arg-type]
    model.bert.load_state_dict(encoder.state_dict())
    log.info("fine-tuning %s (%d layers, hidden %d)", cfg.bert, encoder.cfg.layers, encoder.cfg.hidden)
    return model, PieceEncoder(tok, data.tags, cfg.max_len, ids.cls, ids.sep, ids.unk), cfg
