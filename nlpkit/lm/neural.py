"""The neural architectures behind one interface, and their artefacts (kind ``neural_lm``).

Every model maps ``(idx (B, T), state) -> (logits (B, T, V), state)`` and has ``init_state(B,
device)``. Artefact::

    DIR/config.json          kind neural_lm, "arch", the model's XConfig ("model"), TrainConfig ("train")
    DIR/model.safetensors    weights (tied embeddings stored once, via safetensors' save_model)
    DIR/vocab.txt | tokenizer.json
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from nlpkit.artifacts import read_config, write_config
from nlpkit.errors import ArtifactError, ConfigError
from nlpkit.lm.nplm import NPLM, NplmConfig
from nlpkit.lm.rnn import RNNLM, RnnConfig
from nlpkit.lm.transformer import TransformerConfig, TransformerLM
from nlpkit.lm.vocab import PieceVocab, WordVocab, load_vocab
from nlpkit.training.config import flags

KIND = "neural_lm"
FORMAT_VERSION = 1
ARCHS = ("nplm", "rnn", "gru", "lstm", "transformer")


def config_class(arch: str) -> type:
    if arch == "nplm":
        return NplmConfig
    if arch in ("rnn", "gru", "lstm"):
        return RnnConfig
    if arch == "transformer":
        return TransformerConfig
    raise ConfigError(f"unknown architecture {arch!r}", "use ngram, nplm, rnn, gru, lstm or transformer")


def check_options(arch: str, options: dict[str, Any]) -> None:
    """Refuse a given model flag that ``arch`` has no use for (``--n-heads`` for an LSTM)."""
    known = set(config_class(arch).__dataclass_fields__) - {"cell", "vocab_size", "eos_id"}
    wrong = sorted(k for k, v in options.items() if v is not None and k not in known)
    if wrong:
        raise ConfigError(f"{flags(wrong)} does not apply to --arch {arch}", "leave it out or choose another --arch")


def make_config(arch: str, values: dict[str, Any]) -> Any:
    """The arch's XConfig from the given options (``None``: the config's default; unknown ones ignored)."""
    cls = config_class(arch)
    fields = cls.__dataclass_fields__
    kwargs = {k: v for k, v in values.items() if k in fields and v is not None}
    if arch in ("rnn", "gru", "lstm"):
        kwargs["cell"] = arch
    return cls(**kwargs)


def build_model(arch: str, config: Any) -> nn.Module:
    if arch == "nplm":
        return NPLM(config)
    if arch in ("rnn", "gru", "lstm"):
        return RNNLM(config)
    return TransformerLM(config)


def save_neural(tmp: Path, arch: str, model: nn.Module, vocab: WordVocab | PieceVocab, train: dict, data: dict) -> dict:
    from safetensors.torch import save_model

    save_model(model, str(tmp / "model.safetensors"))
    vocab.save(tmp)
    return write_config(
        tmp, KIND, format_version=FORMAT_VERSION, arch=arch, vocab=vocab.kind,
        model=asdict(model.config), train=train, data=data,
    )


def load_weights(model: nn.Module, path: Path) -> None:
    """Fill ``model`` from a file written by ``save_model`` (tied weights stored once); a missing
    or unexpected tensor is an error."""
    from safetensors.torch import load_model

    try:
        load_model(model, str(path), strict=True, device="cpu")
    except Exception as exc:  # safetensors raises its own error types for a damaged file
        raise ArtifactError(f"{path}: weights do not match the config: {exc}".splitlines()[0][:300], "retrain or restore the model") from None


def load_neural(model_dir: str | Path, device: torch.device) -> tuple[nn.Module, WordVocab | PieceVocab, dict]:
    config = read_config(model_dir, {KIND: FORMAT_VERSION})
    arch = config["arch"]
    model = build_model(arch, config_class(arch)(**config["model"]))
    load_weights(model, Path(model_dir) / "model.safetensors")
    model.to(device).eval()
    return model, load_vocab(Path(model_dir), config.get("vocab", "words")), config
