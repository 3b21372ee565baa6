"""The classifier artefact: build, save and load a model of any architecture.

Layout of ``DIR``::

    config.json        kind "classifier"; "model": {"arch", every field of the arch's config
                       (+ "encoder": the BertConfig for bert)}; "labels": [...] in id order;
                       "train": every training option; "data"; "history": validation accuracy
    model.safetensors  weights
    vocab.json         {"tokens": [...]} word vocabulary (avg, bilstm), id = position
    tokenizer.json     WordPiece tokenizer (bert)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlpkit.artifacts import artifact_writer, read_config, write_config
from nlpkit.classify.encode import Encoder, PieceEncoder, WordEncoder
from nlpkit.classify.vocab import WordVocab
from nlpkit.errors import ArtifactError, ConfigError

if TYPE_CHECKING:
    import torch
    from torch import nn

KIND = "classifier"
FORMAT_VERSION = 1
ARCHS = ("avg", "bilstm", "bert")
VOCAB = "vocab.json"
RENAMED = {"embed_dim": "d_model", "hidden_size": "d_hidden", "layers": "n_layers"}  # config.json names before the shared size flags


def config_class(arch: str) -> type:
    if arch == "avg":
        from nlpkit.classify.models import AvgConfig

        return AvgConfig
    if arch == "bilstm":
        from nlpkit.classify.models import BiLSTMConfig

        return BiLSTMConfig
    if arch == "bert":
        from nlpkit.classify.bert_head import BertClassifierConfig

        return BertClassifierConfig
    raise ConfigError(f"unknown --arch {arch!r}", "use avg, bilstm or bert")


def model_config(arch: str, options: dict[str, Any]) -> Any:
    """The arch's config from the flags that were given (``None`` values mean "the default")."""
    cls = config_class(arch)
    known = {f.name for f in fields(cls)}
    given = {k: v for k, v in options.items() if v is not None}
    wrong = sorted(k for k in given if k not in known)
    if wrong:
        flags = ", ".join("--" + k.replace("_", "-") for k in wrong)
        raise ConfigError(f"{flags} does not apply to --arch {arch}", "leave it out or choose another --arch")
    return cls(**given)


def build_model(arch: str, cfg: Any, encoder_cfg: Any = None) -> nn.Module:
    if arch == "avg":
        from nlpkit.classify.models import AvgClassifier

        return AvgClassifier(cfg)
    if arch == "bilstm":
        from nlpkit.classify.models import BiRNNClassifier

        return BiRNNClassifier(cfg)
    from nlpkit.classify.bert_head import BertClassifier

    return BertClassifier(cfg, encoder_cfg)


@dataclass
class Classifier:
    """A loaded classifier: the model (eval mode, on ``device``), its text encoder and labels."""

    model: nn.Module
    encoder: Encoder
    labels: list[str]
    config: dict[str, Any]
    device: torch.device


def save_classifier(
    output: str | Path, model: nn.Module, encoder: Encoder, labels: list[str], *, arch: str, **sections: Any
) -> dict[str, Any]:
    """Publish ``output`` atomically; ``sections`` are config.json's train/data/history/..."""
    from safetensors.torch import save_file

    from nlpkit.wordpiece import save_tokenizer

    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    model_section: dict[str, Any] = {"arch": arch, **asdict(model.cfg)}
    with artifact_writer(output, kind=KIND, force=True) as tmp:
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        if isinstance(encoder, WordEncoder):
            (tmp / VOCAB).write_text(json.dumps({"tokens": encoder.vocab.tokens}, ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            model_section["encoder"] = asdict(model.bert.cfg)
            save_tokenizer(encoder.tok, tmp)
        return write_config(tmp, KIND, model=model_section, labels=labels, format_version=FORMAT_VERSION, **sections)


def load_classifier(model_dir: str | Path, device: str = "auto") -> Classifier:
    from nlpkit.device import resolve_device

    config = read_config(model_dir, {KIND: FORMAT_VERSION})
    dev = resolve_device(device)
    values = {RENAMED.get(k, k): v for k, v in config["model"].items()}
    arch = values.pop("arch", None)
    if arch not in ARCHS:
        raise ArtifactError(f"{model_dir} has an unknown classifier architecture {arch!r}", "retrain the model")
    encoder_values = values.pop("encoder", None)
    cfg = config_class(arch)(**values)
    encoder_cfg = None
    if arch == "bert":
        from nlpkit.bert.model import BertConfig

        encoder_cfg = BertConfig(**encoder_values)
    model = build_model(arch, cfg, encoder_cfg)
    load_weights(model, Path(model_dir) / "model.safetensors")
    encoder = _load_encoder(Path(model_dir), arch, cfg, encoder_cfg)
    return Classifier(model.to(dev).eval(), encoder, list(config["labels"]), config, dev)


def load_weights(model: nn.Module, path: Path) -> None:
    """Fill ``model`` from a safetensors file; a missing or unexpected tensor is an error."""
    from safetensors.torch import load_model

    try:
        load_model(model, str(path), strict=True, device="cpu")
    except Exception as exc:  # safetensors raises its own error types for a damaged file
        raise ArtifactError(f"{path} does not match its config.json: {exc}".splitlines()[0][:300], "retrain the model") from None


def _load_encoder(model_dir: Path, arch: str, cfg: Any, encoder_cfg: Any) -> Encoder:
    if arch == "bert":
        from nlpkit.wordpiece import load_tokenizer

        return PieceEncoder(load_tokenizer(model_dir), cfg.max_len, encoder_cfg.pad_id)
    try:
        tokens = json.loads((model_dir / VOCAB).read_text(encoding="utf-8"))["tokens"]
    except (OSError, ValueError, KeyError) as exc:
        raise ArtifactError(f"cannot read {model_dir / VOCAB}: {exc}", "retrain the model") from None
    return WordEncoder(WordVocab(tokens), cfg.max_len)
