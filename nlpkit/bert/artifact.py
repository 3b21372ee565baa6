"""The BERT artefact: ``config.json`` (kind ``bert``) + ``model.safetensors`` + ``tokenizer.json``/``vocab.txt``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlpkit.artifacts import artifact_writer, load_torch_tensors, read_config, write_config
from nlpkit.bert.config import FORMAT_VERSION, KIND
from nlpkit.bert.model import Bert, BertConfig
from nlpkit.errors import ArtifactError
from nlpkit.wordpiece import load_tokenizer, save_tokenizer

if TYPE_CHECKING:
    import torch
    from tokenizers import Tokenizer

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


@dataclass(frozen=True)
class SpecialIds:
    pad: int
    unk: int
    cls: int
    sep: int
    mask: int


def special_ids(tok: Tokenizer, where: str = "the tokenizer") -> SpecialIds:
    ids = [tok.token_to_id(t) for t in SPECIALS]
    missing = [t for t, i in zip(SPECIALS, ids) if i is None]
    if missing:
        raise ArtifactError(f"{where} has no {', '.join(missing)} token", "use a BERT-style WordPiece vocabulary")
    return SpecialIds(*ids)  # type: ignore[arg-type]


def save_bert(
    output: str | Path, model: Bert, tok: Tokenizer, *, train: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None, force: bool = False, **extra: Any,
) -> None:
    """Publish ``output`` atomically (weights from the unwrapped, uncompiled module)."""
    from safetensors.torch import save_file

    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    with artifact_writer(output, kind=KIND, force=force) as tmp:
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        save_tokenizer(tok, tmp)
        write_config(tmp, KIND, model=asdict(model.cfg), train=train, data=data, format_version=FORMAT_VERSION, **extra)


def config_from_dict(values: dict[str, Any]) -> BertConfig:
    known = {f.name for f in fields(BertConfig)}
    return BertConfig(**{k: v for k, v in values.items() if k in known})


def load_bert(model_dir: str | Path, device: str | torch.device = "cpu") -> tuple[Bert, Tokenizer, dict[str, Any]]:
    """Model (in eval mode, on ``device``), tokenizer and config.json of a BERT artefact."""
    config = read_config(model_dir, {KIND: FORMAT_VERSION})
    cfg = config_from_dict(config["model"])
    model = Bert(cfg)
    state = load_torch_tensors(model_dir, "model.safetensors", "cpu")
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ArtifactError(f"{model_dir}/model.safetensors does not match its config ({len(missing)} missing, {len(unexpected)} unexpected weights)", "retrain or re-import the model")
    tok = load_tokenizer(model_dir)
    return model.to(device).eval(), tok, config
