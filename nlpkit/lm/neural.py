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

from nlpkit.artifacts import load_torch_tensors, read_config, write_config
from nlpkit.errors import ArtifactError, ConfigError
from nlpkit.lm.nplm import NPLM, NplmConfig
from nlpkit.lm.rnn import RNNLM, RnnConfig
from nlpkit.lm.transformer import TransformerConfig, TransformerLM
from nlpkit.lm.vocab import PieceVocab, WordVocab, load_vocab

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


def make_config(arch: str, values: dict[str, Any]) -> Any:
    """The arch's XConfig from the options it knows (others, such as --heads for an LSTM, are ignored)."""
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


def load_neural(model_dir: str | Path, device: torch.device) -> tuple[nn.Module, WordVocab | PieceVocab, dict]:
    config = read_config(model_dir, {KIND: FORMAT_VERSION})
    arch = config["arch"]
    model = build_model(arch, config_class(arch)(**config["model"]))
    state = load_torch_tensors(model_dir, "model.safetensors", str(device))
    # Tied weights are stored once; strict=False lets the alias be filled by its twin.
    missing, unexpected = model.load_state_dict(state, strict=False)
    tied = {"out.weight"} if getattr(model.config, "tie_weights", False) else set()
    if unexpected or set(missing) - tied:
        raise ArtifactError(f"{model_dir}: weights do not match the config", "retrain or restore the model")
    model.to(device).eval()
    return model, load_vocab(Path(model_dir), config.get("vocab", "words")), config
