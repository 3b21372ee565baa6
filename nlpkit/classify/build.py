"""A fresh (or resumed) model and its text encoder for a training job, for every architecture."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from nlpkit.classify.artifact import build_model, model_config
from nlpkit.classify.config import TrainConfig
from nlpkit.classify.data import Example
from nlpkit.classify.encode import Encoder, PieceEncoder, WordEncoder
from nlpkit.classify.vocab import WordVocab, build_vocab
from nlpkit.errors import ConfigError

if TYPE_CHECKING:
    from torch import nn

log = logging.getLogger("nlpkit")
VECTOR_WORDS = 50_000  # most --vectors words added to the vocabulary (vector files list frequent words first), as the tagger does


def check_model_options(arch: str, options: dict[str, Any]) -> None:
    """Fail fast, before any data is read, on flags that do not fit ``arch`` or bad values."""
    if arch == "bert" and not options.get("bert"):
        raise ConfigError("--arch bert needs --bert DIR", "pre-train an encoder with `nlpkit bert pretrain` first")
    if arch != "bert" and options.get("bert") is not None:
        raise ConfigError(f"--bert does not apply to --arch {arch}", "use --arch bert")
    model_config(arch, options)


def build_for_training(
    cfg: TrainConfig, options: dict[str, Any], train: list[Example], num_classes: int, meta: dict[str, Any] | None
) -> tuple[nn.Module, Encoder]:
    check_model_options(cfg.arch, options)
    if cfg.arch == "bert":
        return _bert(options, num_classes)
    if meta and meta.get("vocab"):
        vocab, vector_rows = WordVocab(meta["vocab"]), meta.get("vector_rows", 0)
    else:
        vocab = build_vocab((e.text for e in train), cfg.min_count, cfg.max_vocab)
        trained = len(vocab)
        if cfg.vectors:
            vocab = with_vector_words(vocab, cfg.vectors)
        vector_rows = len(vocab) - trained
    log.info("vocabulary: %d words (min count %d%s)", len(vocab), cfg.min_count, " and the --vectors words" if cfg.vectors else "")
    if cfg.vectors:
        from nlpkit.classify.vectors import vector_dim

        options = {**options, "d_model": _vector_d_model(options, vector_dim(cfg.vectors))}
    model_cfg = model_config(cfg.arch, {**options, "vocab_size": len(vocab), "num_classes": num_classes, "vector_rows": vector_rows})
    model = build_model(cfg.arch, model_cfg)
    if cfg.vectors and not meta:
        from torch import nn

        from nlpkit.classify.vectors import init_embeddings

        table = nn.Embedding(len(vocab), model_cfg.d_model, padding_idx=0)  # (V, C), then split into the model's two parts
        init_embeddings(table, vocab, cfg.vectors)
        model.set_table(table.weight)
    if cfg.freeze_vectors:
        model.embed.weight.requires_grad_(False)
    return model, WordEncoder(vocab, model_cfg.max_len)


def with_vector_words(vocab: WordVocab, path: str) -> WordVocab:
    """``vocab`` followed by the vectors' (first ``VECTOR_WORDS``) words it lacks.

    Short texts meet many words their training set never shows (on sentence polarity 7% of the
    test words are <unk> with the training vocabulary, 1.5% with the vectors' too); such a word
    keeps its pre-trained vector, fixed (the model's ``vector_rows``; so does a word rarer than --min-count).
    Only lower-case words: the classifier lowercases every text.
    """
    from nlpkit.classify.vectors import load_vectors

    known = set(vocab.tokens)
    extra = [w for w in load_vectors(path).words[:VECTOR_WORDS] if w == w.lower() and w not in known]
    return WordVocab([*vocab.tokens, *extra])


def _vector_d_model(options: dict[str, Any], dim: int) -> int:
    given = options.get("d_model")
    if given is not None and given != dim:
        raise ConfigError(f"--d-model {given} differs from the --vectors size {dim}", "leave --d-model out with --vectors")
    return dim


def _bert(options: dict[str, Any], num_classes: int) -> tuple[nn.Module, Encoder]:
    from nlpkit.bert.artifact import load_bert, special_ids

    options = {**options, "bert": str(options["bert"])}
    encoder, tok, _ = load_bert(options["bert"], "cpu")
    if options.get("max_len") is None:  # the default, 256, but never more than the encoder's positions
        options["max_len"] = min(256, encoder.cfg.max_position)
    model_cfg = model_config("bert", {**options, "num_classes": num_classes})
    model = build_model("bert", model_cfg, encoder.cfg)
    model.bert.load_state_dict(encoder.state_dict())
    log.info("fine-tuning %s (%d layers, hidden %d)", options["bert"], encoder.cfg.layers, encoder.cfg.hidden)
    return model, PieceEncoder(tok, model_cfg.max_len, special_ids(tok, options["bert"]).pad)
