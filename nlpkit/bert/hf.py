"""HuggingFace ``transformers`` BERT directories: export an nlpkit model, import one back.

The export is written without importing ``transformers``: a ``config.json`` for ``BertConfig``
(``architectures: [BertForPreTraining]``), ``model.safetensors`` under transformers' parameter
names, and the tokenizer as ``vocab.txt`` + ``tokenizer_config.json`` (BertTokenizer) and
``tokenizer.json`` (BertTokenizerFast). ``BertForPreTraining.from_pretrained(OUT)`` and
``BertForMaskedLM.from_pretrained(OUT)`` load it. The only non-renaming step of the mapping: nlpkit
fuses Q, K and V into one ``qkv`` Linear, transformers keeps ``query``/``key``/``value``.

The MLM decoder is tied to the word embeddings in both, so it is not written (transformers ties
``cls.predictions.decoder`` to ``bert.embeddings.word_embeddings`` and ``cls.predictions.bias``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from nlpkit.artifacts import publish
from nlpkit.safeio import disk_full_guard, fix_mode, tree_size
from nlpkit.bert.artifact import load_bert, load_strict, save_bert
from nlpkit.bert.model import Bert, BertConfig
from nlpkit.errors import ArtifactError

log = logging.getLogger("nlpkit")

# nlpkit name -> transformers BertForPreTraining name, per layer ({i}) and for the rest.
LAYER_KEYS = {
    "attn_out": "attention.output.dense",
    "attn_norm": "attention.output.LayerNorm",
    "ffn_in": "intermediate.dense",
    "ffn_out": "output.dense",
    "ffn_norm": "output.LayerNorm",
}
KEYS = {
    "embeddings.tokens.weight": "bert.embeddings.word_embeddings.weight",
    "embeddings.positions.weight": "bert.embeddings.position_embeddings.weight",
    "embeddings.segments.weight": "bert.embeddings.token_type_embeddings.weight",
    "embeddings.norm.weight": "bert.embeddings.LayerNorm.weight",
    "embeddings.norm.bias": "bert.embeddings.LayerNorm.bias",
    "pooler.weight": "bert.pooler.dense.weight",
    "pooler.bias": "bert.pooler.dense.bias",
    "mlm_transform.weight": "cls.predictions.transform.dense.weight",
    "mlm_transform.bias": "cls.predictions.transform.dense.bias",
    "mlm_norm.weight": "cls.predictions.transform.LayerNorm.weight",
    "mlm_norm.bias": "cls.predictions.transform.LayerNorm.bias",
    "mlm_bias": "cls.predictions.bias",
    "nsp.weight": "cls.seq_relationship.weight",
    "nsp.bias": "cls.seq_relationship.bias",
}
QKV = ("query", "key", "value")
NSP_KEYS = ("pooler.weight", "pooler.bias", "nsp.weight", "nsp.bias")
# transformers tensors that nlpkit derives instead of storing: the tied decoder (checked by
# _check_decoder, its bias is cls.predictions.bias) and the position-id buffer of older versions
HF_DERIVED = ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias", "bert.embeddings.position_ids")


def to_hf_state(state: dict[str, torch.Tensor], layers: int) -> dict[str, torch.Tensor]:
    """nlpkit state dict -> transformers BertForPreTraining state dict."""
    out = {hf: state[ours] for ours, hf in KEYS.items()}
    for i in range(layers):
        src, dst = f"layers.{i}.", f"bert.encoder.layer.{i}."
        for ours, hf in LAYER_KEYS.items():
            for p in ("weight", "bias"):
                out[f"{dst}{hf}.{p}"] = state[f"{src}{ours}.{p}"]
        for p in ("weight", "bias"):
            for name, part in zip(QKV, state[f"{src}qkv.{p}"].chunk(3, dim=0)):  # (3C, ...) -> 3 x (C, ...)
                out[f"{dst}attention.self.{name}.{p}"] = part
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in out.items()}


def from_hf_state(hf: dict[str, torch.Tensor], layers: int) -> dict[str, torch.Tensor]:
    """transformers state dict (BertForPreTraining, BertForMaskedLM or BertModel keys) -> nlpkit's.

    Pooler and NSP weights that the source lacks are left out (the caller keeps fresh ones).
    """
    hf = {(k if k.startswith(("bert.", "cls.")) else f"bert.{k}"): v for k, v in hf.items()}
    out = {ours: hf[name] for ours, name in KEYS.items() if name in hf}
    used = {name for name in KEYS.values() if name in hf}
    for i in range(layers):
        src, dst = f"bert.encoder.layer.{i}.", f"layers.{i}."
        for ours, name in LAYER_KEYS.items():
            for p in ("weight", "bias"):
                out[f"{dst}{ours}.{p}"] = _need(hf, f"{src}{name}.{p}")
                used.add(f"{src}{name}.{p}")
        for p in ("weight", "bias"):
            out[f"{dst}qkv.{p}"] = torch.cat([_need(hf, f"{src}attention.self.{n}.{p}") for n in QKV], dim=0)  # (3C, ...)
            used.update(f"{src}attention.self.{n}.{p}" for n in QKV)
    unexpected = sorted(set(hf) - used - set(HF_DERIVED))
    if unexpected:
        raise ArtifactError(f"the HuggingFace weights have {len(unexpected)} unexpected tensor(s) ({', '.join(unexpected[:3])})", "import a plain BERT checkpoint whose config.json matches its weights")
    return out


def _need(hf: dict[str, torch.Tensor], key: str) -> torch.Tensor:
    if key not in hf:
        raise ArtifactError(f"the HuggingFace weights have no {key}", "import a BERT checkpoint (BertForPreTraining or BertForMaskedLM)")
    return hf[key]


def hf_config(cfg: BertConfig) -> dict[str, Any]:
    return {
        "architectures": ["BertForPreTraining"],
        "model_type": "bert",
        "vocab_size": cfg.vocab_size,
        "hidden_size": cfg.hidden,
        "num_hidden_layers": cfg.layers,
        "num_attention_heads": cfg.heads,
        "intermediate_size": cfg.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": cfg.dropout,
        "attention_probs_dropout_prob": cfg.dropout,
        "max_position_embeddings": cfg.max_position,
        "type_vocab_size": cfg.type_vocab_size,
        "initializer_range": cfg.init_range,
        "layer_norm_eps": cfg.layer_norm_eps,
        "pad_token_id": cfg.pad_id,
        "position_embedding_type": "absolute",
        "tie_word_embeddings": True,
    }


def export_hf(model_dir: str | Path, output: str | Path, force: bool = False) -> None:
    """Write a transformers BERT directory for the nlpkit model in ``model_dir`` (atomically).

    An earlier export is replaced only with ``force``; files we do not write there (a README.md,
    a model card) are kept.
    """
    from safetensors.torch import save_file

    from nlpkit.locking import output_lock

    out = Path(os.path.abspath(output))
    _check_export_target(out, force)
    model, tok, _ = load_bert(model_dir)
    with output_lock(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
        fix_mode(tmp)
        try:
            with disk_full_guard(out, lambda: tree_size(tmp), cleanup=False):
                save_file(to_hf_state(model.state_dict(), model.cfg.layers), str(tmp / "model.safetensors"), metadata={"format": "pt"})
                _write_json(tmp / "config.json", hf_config(model.cfg))
                _write_tokenizer(tok, tmp, model.cfg.max_position)
                _check_export_target(out, force)
                for path in tmp.iterdir():
                    fix_mode(path)
                publish(tmp, out, set(HF_FILES))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


HF_FILES = ("model.safetensors", "config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json")


def _check_export_target(out: Path, force: bool) -> None:
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return
    if not out.is_dir() or not _is_hf_bert(out):
        raise ArtifactError(f"{out} exists and is not a HuggingFace BERT export; refusing to write there", "choose a new output directory")
    if not force:
        raise ArtifactError(f"{out} already holds a HuggingFace BERT export", "pass --force to replace it (other files there are kept)")


def _write_tokenizer(tok, directory: Path, max_len: int) -> None:  # noqa: ANN001
    from nlpkit.tokenize.wordpiece import save_tokenizer

    save_tokenizer(tok, directory)  # tokenizer.json + vocab.txt
    norm = tok.normalizer
    lower = bool(getattr(norm, "lowercase", True))
    strip = getattr(norm, "strip_accents", None)
    _write_json(directory / "tokenizer_config.json", {
        "tokenizer_class": "BertTokenizer", "do_lower_case": lower, "strip_accents": strip, "model_max_length": max_len,
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]",
    })
    _write_json(directory / "special_tokens_map.json", {"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"})


def _write_json(path: Path, value: dict[str, Any]) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def _is_hf_bert(directory: Path) -> bool:
    try:
        return json.loads((directory / "config.json").read_text(encoding="utf-8")).get("model_type") == "bert"
    except (OSError, ValueError):
        return False


def import_hf(source: str | Path, output: str | Path, force: bool = False) -> None:
    """Convert a transformers BERT directory into an nlpkit ``bert`` artefact."""
    from nlpkit.artifacts import check_output
    from nlpkit.bert.config import KIND

    src = Path(source)
    check_output(output, KIND, force)
    hc = _read_hf_config(src)
    cfg = BertConfig(
        vocab_size=hc["vocab_size"], hidden=hc["hidden_size"], layers=hc["num_hidden_layers"], heads=hc["num_attention_heads"],
        intermediate=hc["intermediate_size"], dropout=hc.get("hidden_dropout_prob", 0.1), max_position=hc.get("max_position_embeddings", 512),
        type_vocab_size=hc.get("type_vocab_size", 2), layer_norm_eps=hc.get("layer_norm_eps", 1e-12), pad_id=hc.get("pad_token_id") or 0,
        init_range=hc.get("initializer_range", 0.02),
    )
    model = Bert(cfg)
    raw = _read_hf_weights(src)
    state = from_hf_state(raw, cfg.layers)
    _check_decoder(src, raw, state)
    if "mlm_bias" not in state:
        raise ArtifactError(f"{src} has no masked-LM head (cls.predictions)", "import a BertForPreTraining or BertForMaskedLM checkpoint")
    missing = [k for k in NSP_KEYS if k not in state]
    if missing:
        log.warning("warning: %s has no pooler/next-sentence head; they start untrained", src)
    load_strict(model, state, f"{src} weights", may_lack=NSP_KEYS)
    tok = _read_hf_tokenizer(src)
    if tok.get_vocab_size(with_added_tokens=True) != cfg.vocab_size:
        raise ArtifactError(f"{src}: the vocabulary has {tok.get_vocab_size()} entries but the model {cfg.vocab_size}", "check vocab.txt")
    save_bert(output, model, tok, train={"imported_from": str(src)}, force=force)


def _read_hf_config(src: Path) -> dict[str, Any]:
    try:
        hc = json.loads((src / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ArtifactError(f"{src} has no readable config.json", "pass a HuggingFace model directory") from None
    if hc.get("model_type") != "bert":
        raise ArtifactError(f"{src} holds a {hc.get('model_type')!r} model, not BERT", "pass a BERT checkpoint")
    if hc.get("hidden_act", "gelu") != "gelu" or hc.get("position_embedding_type", "absolute") != "absolute":
        raise ArtifactError(f"{src}: hidden_act {hc.get('hidden_act')!r} / positions {hc.get('position_embedding_type')!r} differ from BERT's", "only gelu with absolute positions can be imported")
    if hc.get("is_decoder") or hc.get("add_cross_attention"):
        raise ArtifactError(f"{src} is a BERT decoder", "import an encoder checkpoint")
    return hc


def _read_hf_weights(src: Path) -> dict[str, torch.Tensor]:
    if (src / "model.safetensors").exists():
        from nlpkit.artifacts import load_torch_tensors

        return _finite(src / "model.safetensors", load_torch_tensors(src, "model.safetensors"))
    if (src / "pytorch_model.bin").exists():
        return _finite(src / "pytorch_model.bin", _load_bin(src / "pytorch_model.bin"))
    raise ArtifactError(f"{src} has no model.safetensors or pytorch_model.bin", "pass a complete HuggingFace directory")


def _load_bin(path: Path) -> dict[str, torch.Tensor]:
    """A ``pytorch_model.bin`` with plain tensors only: anything else is refused, never executed."""
    import pickle
    import warnings

    hint = "convert it to model.safetensors with a tool you trust, or re-download it"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ArtifactError(f"{path} holds pickled Python objects besides tensors; refusing to load it", hint) from None
    except Exception as exc:  # a truncated or corrupt zip, a bad storage: several types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ArtifactError(f"cannot read {path}: {first}", hint) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ArtifactError(f"{path} is not a dictionary of tensors", hint)
    return state


def _finite(path: Path, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise ArtifactError(f"{path} has NaN or infinite values in {bad[0]}", "the checkpoint is corrupt; re-download it")
    return state


def _check_decoder(src: Path, raw: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> None:
    """An explicitly stored MLM decoder must equal the word embeddings (nlpkit ties them)."""
    dec = raw.get("cls.predictions.decoder.weight")
    if dec is not None and "embeddings.tokens.weight" in state and not torch.equal(dec, state["embeddings.tokens.weight"]):
        raise ArtifactError(f"{src} has an MLM decoder not tied to its word embeddings", "nlpkit's BERT ties them")


def _read_hf_tokenizer(src: Path):  # noqa: ANN202
    from nlpkit.tokenize.wordpiece import load_tokenizer

    tc: dict[str, Any] = {}
    if (src / "tokenizer_config.json").exists():
        tc = json.loads((src / "tokenizer_config.json").read_text(encoding="utf-8"))
    if (src / "vocab.txt").exists():
        return load_tokenizer(src / "vocab.txt", lowercase=tc.get("do_lower_case", True), strip_accents=tc.get("strip_accents"))
    if (src / "tokenizer.json").exists():
        return load_tokenizer(src / "tokenizer.json")
    raise ArtifactError(f"{src} has no vocab.txt or tokenizer.json", "export the tokenizer with the model")
