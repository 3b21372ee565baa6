"""`bert pretrain`: masked LM + next-sentence prediction on the training engine, one process or many under ``torchrun``.

The family's part: the tokenizer, the endless stream of masked examples (a pure function of the
settings, sharded by rank; see ``stream``), one step's losses and the held-out evaluation. The
engine does the rest: AdamW with BERT's warm-up/linear-decay schedule over ``--steps``, gradient
accumulation, precision, clipping, ``--metrics`` JSONL, exact resume (the data position is how
many batches this rank has consumed) and DistributedDataParallel; rank 0 writes checkpoints,
metrics and the artefact.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nlpkit.bert.artifact import SpecialIds, save_bert, special_ids
from nlpkit.bert.config import KIND, PretrainConfig
from nlpkit.bert.data import PairSpec
from nlpkit.bert.masking import MaskingSpec
from nlpkit.bert.model import Bert, BertConfig, count_parameters
from nlpkit.bert.stream import StreamedBatches, StreamSpec, batches, epoch_examples, example_stream
from nlpkit.errors import ConfigError, CorpusError
from nlpkit.training import RunOptions
from nlpkit.training.engine import Engine
from nlpkit.training.job import open_job

log = logging.getLogger("nlpkit")

# BertConfig field -> the flag every trainer spells the same way
MODEL_FLAGS = {"hidden": "d_model", "layers": "n_layers", "heads": "n_heads", "intermediate": "d_ff", "dropout": "dropout", "max_position": "max_position"}


def make_optimizer(model: nn.Module, cfg: PretrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """AdamW (betas 0.9/0.999, eps 1e-6 as BERT); no weight decay on biases, LayerNorm weights, or an unused NSP head."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        unused = not cfg.nsp and name.startswith(("pooler.", "nsp."))
        (no_decay if p.ndim < 2 or "norm" in name or unused else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # The fused kernel (CPU and CUDA) does the whole update in one pass over each tensor.
    fused = {"fused": True} if device.type in ("cpu", "cuda") else {"foreach": True}
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.999), eps=1e-6, **fused)


class BertTask:
    higher_is_better = False

    def __init__(self, examples: Any, cfg: PretrainConfig, pad_id: int, valid: list[dict[str, torch.Tensor]] | None,
                 device: torch.device, world_size: int) -> None:
        self.examples, self.cfg, self.pad_id, self.valid = examples, cfg, pad_id, valid
        self.device, self.world_size = device, world_size
        self.metric = "valid_loss" if valid else ""

    def optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        return make_optimizer(model, self.cfg, self.device)

    def batches(self, epoch: int) -> StreamedBatches:
        total = self.cfg.steps * self.cfg.grad_accum * self.world_size
        return StreamedBatches(self.examples, self.cfg.batch_size, self.pad_id, total, self.world_size)

    def losses(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        b = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        mlm, nsp = model(b["input_ids"], b["segment_ids"], b["attention_mask"], b["mlm_positions"])  # (N, V), (B, 2)
        labels, nsp_labels = b["mlm_labels"], b["nsp_labels"]  # (N,), (B,)
        mlm_loss = F.cross_entropy(mlm.float(), labels)
        out = {"mlm_loss": mlm_loss, "mlm_accuracy": (mlm.argmax(-1) == labels).float().mean().detach()}
        if self.cfg.nsp:
            out["nsp_loss"] = F.cross_entropy(nsp.float(), nsp_labels)
            out["nsp_accuracy"] = (nsp.argmax(-1) == nsp_labels).float().mean().detach()
            out["loss"] = mlm_loss + out["nsp_loss"]
        else:  # the NSP head takes part with a zero gradient, so that DDP finds every parameter used
            out["loss"] = mlm_loss + 0.0 * nsp.float().sum()
        out["n_tokens"] = b["attention_mask"].sum()
        out["n_examples"] = b["input_ids"].shape[0]
        return out

    def step(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, Any]:
        out = self.losses(model, batch)
        return {k: (v.detach() if isinstance(v, torch.Tensor) and k != "loss" else v) for k, v in out.items()}

    def evaluate(self, model: nn.Module) -> dict[str, float]:
        if not self.valid:
            return {}
        sums: dict[str, float] = {}
        for batch in self.valid:
            for k, v in self.losses(model, batch).items():
                if not k.startswith("n_"):
                    sums[k] = sums.get(k, 0.0) + float(v)
        return {f"valid_{k}": v / len(self.valid) for k, v in sums.items()}


def pretrain(
    inputs: Sequence[str | Path], output: str | Path, model_options: dict[str, Any], cfg: PretrainConfig, *,
    valid: Sequence[str | Path] | None = None, run: RunOptions | None = None, strict_utf8: bool = False, text_field: str = "text",
) -> dict[str, Any]:
    """Train and publish a ``bert`` artefact in ``output``; returns its config.json (``{}`` on ranks other than 0).

    ``model_options`` holds the model sizes by flag name (``d_model``, ``n_layers``, ``n_heads``, ``d_ff``,
    ``dropout``, ``max_position``); ``None`` or absent means BertConfig's default.
    """
    run = run or RunOptions()
    with open_job(output, cfg, run, model_options, kind=KIND) as job:
        world = job.world
        tok = _tokenizer(inputs, cfg, job.meta, strict_utf8, text_field)
        ids = special_ids(tok)
        sizes = {field: model_options[name] for field, name in MODEL_FLAGS.items() if model_options.get(name) is not None}
        model_cfg = BertConfig(**sizes, vocab_size=tok.get_vocab_size(with_added_tokens=True), pad_id=ids.pad)
        if model_cfg.max_position < cfg.max_seq_len:
            raise ConfigError(f"--max-seq-len {cfg.max_seq_len} exceeds --max-position {model_cfg.max_position}")
        model = Bert(model_cfg)
        log.info("BERT: %s parameters, %d layers, width %d, vocabulary %d", f"{count_parameters(model):,}", model_cfg.layers, model_cfg.hidden, model_cfg.vocab_size)
        spec = StreamSpec(inputs, cfg.documents, cfg.seed, world.rank, world.world_size, cfg.masking == "static", cfg.shuffle_buffer, strict_utf8, text_field)
        pairs, masking = _specs(cfg, tok, ids)
        held = _valid_batches(valid, cfg, tok, pairs, masking, ids, strict_utf8, text_field) if valid else None
        task = BertTask(lambda: example_stream(spec, tok, pairs, masking), cfg, ids.pad, held, job.device, world.world_size)
        engine = Engine(model, task, job, meta={"tokenizer": tok.to_str()})
        state = engine.run()
        if not world.is_main:
            return {}
        train = {**asdict(cfg), "inputs": [str(i) for i in inputs], "valid": [str(v) for v in valid or []], **engine.results()}
        return save_bert(output, model.cpu(), tok, train=train, data=spec.stats.summary(), history=state.history, force=True)


def _tokenizer(inputs, cfg: PretrainConfig, meta, strict_utf8: bool, text_field: str):  # noqa: ANN001, ANN202
    from tokenizers import Tokenizer

    from nlpkit.corpus import read_lines, require_lines
    from nlpkit.tokenize.wordpiece import WordPieceConfig, load_tokenizer, train_wordpiece

    if meta:
        return Tokenizer.from_str(meta["tokenizer"])  # the exact vocabulary the job started with
    if cfg.tokenizer:
        return load_tokenizer(cfg.tokenizer)
    if any(str(i) == "-" for i in inputs) or not inputs:
        raise CorpusError("training a tokenizer on the fly needs to read the corpus twice, and stdin can be read once", "pass --tokenizer DIR or give the corpus as a file")
    log.info("training a WordPiece vocabulary of %d on the input (pass --tokenizer to reuse one)", cfg.vocab_size)
    lines = require_lines(read_lines(inputs, strict_utf8=strict_utf8, text_field=text_field), "corpus")
    return train_wordpiece(lines, WordPieceConfig(vocab_size=cfg.vocab_size, seed=cfg.seed))


def _specs(cfg: PretrainConfig, tok, ids: SpecialIds) -> tuple[PairSpec, MaskingSpec]:  # noqa: ANN001
    vocab = tok.get_vocab(with_added_tokens=True)
    pairs = PairSpec(cfg.max_seq_len, cfg.short_seq_prob, cfg.nsp, ids.cls, ids.sep, cfg.doc_window)
    masking = MaskingSpec(
        mask_id=ids.mask,
        vocab_size=tok.get_vocab_size(with_added_tokens=True),
        special_ids=frozenset({ids.pad, ids.cls, ids.sep}),
        continuation=frozenset(i for t, i in vocab.items() if t.startswith("##")),
        mlm_prob=cfg.mlm_prob,
        whole_word=cfg.whole_word_mask,
        first_random_id=1 + max(asdict(ids).values()),
    )
    return pairs, masking


def _valid_batches(valid, cfg: PretrainConfig, tok, pairs: PairSpec, masking: MaskingSpec, ids: SpecialIds, strict_utf8: bool, text_field: str) -> list:  # noqa: ANN001
    """A fixed held-out set: the first ``eval_batches`` batches, with fixed pairs and masks."""
    spec = StreamSpec(valid, cfg.documents, cfg.seed, 0, 1, True, 1, strict_utf8, text_field)
    examples = epoch_examples(spec, tok, pairs, masking, epoch=0)
    out = list(itertools.islice(batches(examples, cfg.batch_size, ids.pad), cfg.eval_batches))
    log.info("held-out set: %d batches", len(out))
    return out
