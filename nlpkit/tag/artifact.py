"""The tagger artefact: save, and load strictly.

Layout of ``DIR``::

    config.json        kind "tagger"; "model": every TagConfig field (+ "encoder": the BertConfig
                       for bert); "tags": the model's tags in id order, in "scheme" (the training
                       scheme, or "none" for tags without chunks); "input_scheme": the training
                       data's scheme, which predictions are written back in; "train", "data", "history"
    model.safetensors  weights; every key must match the model the config describes
    vocab.json         {"words", "chars", "tags", "lowercase"} (bilstm, unidirectional)
    tokenizer.json     WordPiece tokenizer (bert)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlpkit.artifacts import artifact_writer, load_torch_tensors, read_config, write_config
from nlpkit.errors import ArtifactError
from nlpkit.tag.config import FORMAT_VERSION, KIND, TagConfig, model_section, tag_config
from nlpkit.tag.encode import PieceEncoder, TagVocab

if TYPE_CHECKING:
    import torch

    from nlpkit.tag.model import TaggerBase

VOCAB = "vocab.json"


@dataclass
class Tagger:
    """A loaded tagger: the model (eval mode, on ``device``) and what turns sentences into its input."""

    model: TaggerBase
    encoder: TagVocab | PieceEncoder
    tags: list[str]  # model tags, in ``scheme``
    scheme: str
    input_scheme: str
    config: dict[str, Any]
    device: torch.device


def build_model(cfg: TagConfig, tags: list[str], scheme: str, encoder: TagVocab | PieceEncoder, encoder_cfg: Any = None) -> TaggerBase:
    if cfg.arch == "bert":
        from nlpkit.tag.bert_tagger import BertTagger

        return BertTagger(cfg, encoder_cfg, tags, scheme)
    from nlpkit.tag.model import WordTagger

    assert isinstance(encoder, TagVocab)
    return WordTagger(cfg, len(encoder.words), len(encoder.chars), tags, scheme)


def save_tagger(output: str | Path, model: TaggerBase, encoder: TagVocab | PieceEncoder, *, input_scheme: str, **sections: Any) -> dict[str, Any]:
    """Publish ``output`` atomically; ``sections`` are config.json's train/data/history."""
    from safetensors.torch import save_file

    from nlpkit.wordpiece import save_tokenizer

    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    section: dict[str, Any] = model_section(model.cfg)
    with artifact_writer(output, kind=KIND, force=True) as tmp:
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        if isinstance(encoder, TagVocab):
            (tmp / VOCAB).write_text(json.dumps(encoder.to_json(), ensure_ascii=False) + "\n", encoding="utf-8")
        else:
            section["encoder"] = asdict(model.bert.cfg)  # type: ignore[union-attr]
            save_tokenizer(encoder.tok, tmp)
        return write_config(tmp, KIND, model=section, tags=model.tags, scheme=model.scheme, input_scheme=input_scheme,
                            format_version=FORMAT_VERSION, **sections)


def load_tagger(model_dir: str | Path, device: str = "auto") -> Tagger:
    from nlpkit.device import resolve_device

    config = read_config(model_dir, {KIND: FORMAT_VERSION})
    dev = resolve_device(device)
    try:
        values = dict(config["model"])
        encoder_values = values.pop("encoder", None)
        cfg = tag_config(values)
        tags, scheme, input_scheme = list(config["tags"]), config["scheme"], config["input_scheme"]
    except (KeyError, TypeError) as exc:
        raise ArtifactError(f"{model_dir}/config.json is not a tagger config ({exc})", "retrain the model") from None
    encoder, encoder_cfg = _load_encoder(Path(model_dir), cfg, tags, encoder_values)
    model = build_model(cfg, tags, scheme, encoder, encoder_cfg)
    state = load_torch_tensors(model_dir, "model.safetensors", "cpu")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # a missing, unexpected or differently shaped weight
        raise ArtifactError(f"{model_dir}/model.safetensors does not match its config.json "
                            f"({str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else exc})", "retrain the model") from None
    return Tagger(model.to(dev).eval(), encoder, tags, scheme, input_scheme, config, dev)


def _load_encoder(model_dir: Path, cfg: TagConfig, tags: list[str], encoder_values: Any) -> tuple[TagVocab | PieceEncoder, Any]:
    if cfg.arch == "bert":
        from nlpkit.bert.artifact import special_ids
        from nlpkit.bert.model import BertConfig
        from nlpkit.wordpiece import load_tokenizer

        tok = load_tokenizer(model_dir)
        ids = special_ids(tok, str(model_dir))
        return PieceEncoder(tok, tags, cfg.max_len, ids.cls, ids.sep, ids.unk), BertConfig(**encoder_values)
    try:
        v = json.loads((model_dir / VOCAB).read_text(encoding="utf-8"))
        vocab = TagVocab(v["words"], v["chars"], v["tags"], v["lowercase"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"cannot read {model_dir / VOCAB}: {exc}", "retrain the model") from None
    if vocab.tags != tags:
        raise ArtifactError(f"{model_dir / VOCAB} and config.json list different tags", "retrain the model")
    return vocab, None
