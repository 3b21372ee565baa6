"""Translation artefacts: build a model from its config, save it, load it back.

Layout (``kind`` "translation")::

    DIR/config.json        model (arch + every hyperparameter), train settings and results, data
    DIR/model.safetensors  weights (saved with save_model, so tied embeddings are stored once)
    DIR/tokenizer.json     joint vocabulary, or src_tokenizer.json + tgt_tokenizer.json
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlpkit.artifacts import read_config
from nlpkit.errors import ArtifactError, ConfigError
from nlpkit.translate.vocab import Vocabs, load_vocabs

if TYPE_CHECKING:
    import torch

KIND = "translation"
FORMAT_VERSION = 1
WEIGHTS = "model.safetensors"
ARCHS = ("rnn-attn", "rnn", "transformer")


def model_config(arch: str, values: dict[str, Any]):
    """The config dataclass for ``arch``, from ``values`` (unknown keys are ignored)."""
    from nlpkit.translate.rnn import Seq2SeqConfig
    from nlpkit.translate.transformer import TransformerConfig

    if arch not in ARCHS:
        raise ConfigError(f"unknown --arch {arch!r}", "use rnn-attn, rnn or transformer")
    cls = TransformerConfig if arch == "transformer" else Seq2SeqConfig
    names = {f.name for f in fields(cls)}
    kept = {k: v for k, v in values.items() if k in names}
    kept["arch"] = arch
    return cls(**kept)


def build_model(config) -> torch.nn.Module:
    from nlpkit.translate.rnn import RNNSeq2Seq
    from nlpkit.translate.transformer import TransformerSeq2Seq

    return TransformerSeq2Seq(config) if config.arch == "transformer" else RNNSeq2Seq(config)


def save_weights(model: torch.nn.Module, directory: str | Path) -> None:
    from safetensors.torch import save_model

    save_model(model, str(Path(directory) / WEIGHTS))


@dataclass
class Translator:
    model: Any  # RNNSeq2Seq or TransformerSeq2Seq, in eval mode
    vocabs: Vocabs
    config: dict[str, Any]  # the whole config.json
    device: Any

    @property
    def max_len(self) -> int | None:
        return self.config["model"].get("max_len")


def load_translator(model_dir: str | Path, device: str = "auto") -> Translator:
    """Load a model directory written by ``nlpkit translate train`` onto ``device``."""
    from safetensors.torch import load_model

    from nlpkit.device import resolve_device

    config = read_config(model_dir, {KIND: FORMAT_VERSION})
    try:
        cfg = model_config(config["model"]["arch"], config["model"])
    except (KeyError, TypeError, ConfigError) as exc:
        raise ArtifactError(f"{model_dir}/config.json has a broken model section ({exc})", "retrain the model") from None
    vocabs = load_vocabs(model_dir, bool(config["train"].get("joint_vocab", False)))
    dev = resolve_device(device)
    model = build_model(cfg)
    try:
        load_model(model, str(Path(model_dir) / WEIGHTS), strict=True, device=str(dev))
    except Exception as exc:  # safetensors and torch raise several types for a bad file
        raise ArtifactError(f"cannot load {model_dir}/{WEIGHTS}: {exc}".splitlines()[0], "retrain the model") from None
    model.to(dev).eval()
    return Translator(model, vocabs, config, dev)


def describe_model(config) -> dict[str, Any]:
    return asdict(config)
