"""The BERT artefact: ``config.json`` (kind ``bert``) + ``model.safetensors`` + ``tokenizer.json``/``vocab.txt``."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlpkit.artifacts import artifact_writer, load_torch_tensors, read_config, write_config
from nlpkit.bert.config import FORMAT_VERSION, KIND
from nlpkit.bert.model import Bert, BertConfig
from nlpkit.errors import ArtifactError
from nlpkit.tokenize.wordpiece import load_tokenizer, save_tokenizer

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
) -> dict[str, Any]:
    """Publish ``output`` atomically (weights from the unwrapped, uncompiled module); returns config.json."""
    from safetensors.torch import save_file

    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    with artifact_writer(output, kind=KIND, force=force) as tmp:
        save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        save_tokenizer(tok, tmp)
        return write_config(tmp, KIND, model=asdict(model.cfg), train=train, data=data, format_version=FORMAT_VERSION, **extra)


def config_from_dict(values: dict[str, Any]) -> BertConfig:
    known = {f.name for f in fields(BertConfig)}
    return BertConfig(**{k: v for k, v in values.items() if k in known})


def load_bert(model_dir: str | Path, device: str | torch.device = "cpu") -> tuple[Bert, Tokenizer, dict[str, Any]]:
    """Model (in eval mode, on ``device``), tokenizer and config.json of a BERT artefact."""
    config = read_config(model_dir, {KIND: FORMAT_VERSION})
    cfg = config_from_dict(config["model"])
    model = Bert(cfg)
    load_strict(model, load_torch_tensors(model_dir, "model.safetensors", "cpu"), f"{model_dir}/model.safetensors")
    tok = load_tokenizer(model_dir)
    return model.to(device).eval(), tok, config


def load_strict(model: torch.nn.Module, state: dict[str, Any], where: str, may_lack: tuple[str, ...] = ()) -> None:
    """Load ``state`` into ``model``; a missing (beyond ``may_lack``) or unexpected key, or a wrong shape, is an error."""
    expected = set(model.state_dict())
    missing = sorted(expected - set(state) - set(may_lack))
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        parts = [f"missing {', '.join(missing[:3])}" if missing else "", f"unexpected {', '.join(unexpected[:3])}" if unexpected else ""]
        raise ArtifactError(f"{where} does not match its config ({'; '.join(p for p in parts if p)})", "retrain or re-import the model")
    try:
        model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # a shape mismatch
        raise ArtifactError(f"{where} does not match its config: {exc}".splitlines()[0], "retrain or re-import the model") from None
