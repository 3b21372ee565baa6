"""``--init DIR``: start a training job from a trained ``avg`` or ``bilstm`` classifier (fine-tuning).

The new model is the init model: its vocabulary, its config (sizes, cell, pooling, and any
``--vectors`` rows it was trained with) and its weights. Words of the new data that the init
vocabulary lacks become ``<unk>``: the vocabulary is not extended (a word seen only in a small
fine-tuning set would get a row trained on a handful of examples; the source's vocabulary is
usually the larger one). ``--dropout`` and ``--max-len`` may be given to change those two settings;
flags that would change the body's shape or vocabulary are refused.

Only the output layer depends on the labels: the row (weight and bias) of each new label that the
init model also has is copied, a label it lacks gets a fresh row. So the same label set keeps the
whole model, and a model fine-tuned for no step predicts exactly what the init model predicts.

A resumed job rebuilds its model from the checkpoint's meta (vocabulary and model config) and the
checkpoint's weights; it never reads ``DIR`` again.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from nlpkit.classify.artifact import FORMAT_VERSION, KIND, build_model, config_class, load_classifier
from nlpkit.classify.encode import WordEncoder
from nlpkit.classify.vocab import UNK_ID, WordVocab
from nlpkit.errors import ArtifactError, ConfigError
from nlpkit.training.config import flags

if TYPE_CHECKING:
    from torch import nn

log = logging.getLogger("nlpkit")
SHAPE_OPTIONS = ("d_model", "d_hidden", "n_layers", "cell", "pooling", "bert")  # decided by the init model
OPEN_OPTIONS = ("dropout", "max_len")  # may differ from the init model's
HEAD = ("out.weight", "out.bias")  # the output layer of both word-level architectures


def check_init_options(options: dict[str, Any]) -> None:
    """Refuse, before any data is read, model flags that would change the init model's body."""
    given = [k for k in SHAPE_OPTIONS if options.get(k) is not None]
    if given:
        raise ConfigError(f"{flags(given)} cannot change a model started from --init",
                          "leave it out: the sizes come from the --init model (--dropout and --max-len may change)")


def read_init(path: str, arch: str) -> dict[str, Any]:
    """The init model's config.json, checked to be a classifier of ``arch``."""
    from nlpkit.artifacts import read_config

    try:
        config = read_config(path, {KIND: FORMAT_VERSION})
    except ArtifactError as exc:
        raise ConfigError(f"--init {path}: {exc.message}", "give the output DIR of `nlpkit classify train`") from None
    found = config.get("model", {}).get("arch") if isinstance(config.get("model"), dict) else None
    if found != arch:
        raise ConfigError(f"--init {path} is a {found} classifier, not --arch {arch}",
                          f"add --arch {found}, or start from a {arch} classifier")
    return config


def init_model(path: str, arch: str, options: dict[str, Any], labels: list[str]) -> tuple[nn.Module, WordEncoder]:
    """A model of the init model's config and weights, with an output row per label of ``labels``."""
    read_init(path, arch)
    source = load_classifier(path, "cpu")
    overrides = {k: options[k] for k in OPEN_OPTIONS if options.get(k) is not None}
    model_cfg = replace(source.model.cfg, num_classes=len(labels), **overrides)
    model = build_model(arch, model_cfg)
    state = source.model.state_dict()
    head = {k: state.pop(k) for k in HEAD}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert sorted(missing) == sorted(HEAD) and not unexpected, (missing, unexpected)
    kept = copy_head_rows(model.out, head, source.labels, labels)
    log.info("--init %s: %s body, %d of %d labels keep their output rows, vocabulary of %d words",
             path, arch, kept, len(labels), len(source.encoder.vocab))
    return model, WordEncoder(source.encoder.vocab, model_cfg.max_len)


def copy_head_rows(out: nn.Linear, head: dict[str, Any], old: list[str], new: list[str]) -> int:
    """Copy the init model's output row of each label in both lists into ``out``; returns how many."""
    import torch

    rows = [(i, old.index(label)) for i, label in enumerate(new) if label in old]
    with torch.no_grad():
        for i, j in rows:
            out.weight[i] = head["out.weight"][j]  # (C,) or (2H,)
            out.bias[i] = head["out.bias"][j]
    return len(rows)


def resumed_model(arch: str, meta: dict[str, Any]) -> tuple[nn.Module, WordEncoder]:
    """The model a checkpoint was written from, to receive its weights (the init DIR is not read)."""
    model_cfg = config_class(arch)(**meta["model_cfg"])
    return build_model(arch, model_cfg), WordEncoder(WordVocab(meta["vocab"]), model_cfg.max_len)


def unknown_share(ids: list[list[int]]) -> float:
    """The share of word tokens that are <unk> (the init vocabulary lacks them)."""
    total = sum(len(s) for s in ids)
    return sum(s.count(UNK_ID) for s in ids) / total if total else 0.0
