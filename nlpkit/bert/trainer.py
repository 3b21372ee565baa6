"""The optimisation step of BERT pre-training and its resumable state.

One ``train_step`` = ``grad_accum`` micro-batches (gradients synchronised across ranks only on the
last one), global-norm clipping, an AdamW step at the scheduled learning rate. Running sums of the
losses and accuracies are kept on the device (no host sync per step) and turned into one metrics
record by ``flush_metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import asdict
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nlpkit.bert.config import PretrainConfig, learning_rate
from nlpkit.bert.distributed import World, all_sum, any_rank, gather_objects
from nlpkit.bert.model import Bert
from nlpkit.errors import ConfigError

# Slots of the running sums.
LOSS, MLM_LOSS, NSP_LOSS, MLM_OK, MLM_N, NSP_OK, NSP_N, TOKENS, MICRO = range(9)


def make_optimizer(model: nn.Module, cfg: PretrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """AdamW (betas 0.9/0.999, eps 1e-6 as BERT); no weight decay on biases and LayerNorm weights."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "norm" in name else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    # The fused kernel (CPU and CUDA) does the whole update in one pass over each tensor.
    fused = {"fused": True} if device.type in ("cpu", "cuda") else {"foreach": True}
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.999), eps=1e-6, **fused)


class Trainer:
    def __init__(self, model: Bert, cfg: PretrainConfig, world: World, device: torch.device) -> None:
        if cfg.precision == "fp16" and device.type != "cuda":
            raise ConfigError("--precision fp16 needs a CUDA device", "use fp32, or bf16 on CPU")
        self.model, self.cfg, self.world, self.device = model, cfg, world, device
        self.net: nn.Module = model
        if world.distributed:
            from torch.nn.parallel import DistributedDataParallel

            ids = [device.index] if device.type == "cuda" else None
            self.net = DistributedDataParallel(model, device_ids=ids, find_unused_parameters=not cfg.nsp)
        self.optimizer = make_optimizer(model, cfg, device)
        self.scaler = torch.amp.GradScaler("cuda", enabled=cfg.precision == "fp16")
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.precision)
        self.step = 0
        self.consumed = 0  # examples this rank has trained on: its data position
        self.sums = torch.zeros(9, dtype=torch.float64, device=device)
        self.window_start = time.monotonic()
        self.lr = learning_rate(0, cfg)
        self.last_loss = float("nan")

    def _autocast(self):  # noqa: ANN202
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def train_step(self, batches: Iterator[dict[str, torch.Tensor]]) -> None:
        self.lr = learning_rate(self.step, self.cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr
        accum = self.cfg.grad_accum
        for micro in range(accum):
            batch = {k: v.to(self.device, non_blocking=True) for k, v in next(batches).items()}
            last = micro == accum - 1
            sync = nullcontext() if last or not self.world.distributed else self.net.no_sync()
            with sync:
                with self._autocast():
                    mlm, nsp = self.net(batch["input_ids"], batch["segment_ids"], batch["attention_mask"], batch["mlm_positions"])
                loss, stats = self._loss(mlm, nsp, batch)
                self.scaler.scale(loss / accum).backward()
            self.sums += stats
            self.consumed += batch["input_ids"].shape[0]
        if self.cfg.clip_norm > 0:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_norm)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        self.last_loss = float(stats[LOSS])

    def _loss(self, mlm: torch.Tensor, nsp: torch.Tensor, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Total loss and the running-sum slots for one micro-batch (mlm: (N, V), nsp: (B, 2))."""
        labels, nsp_labels = batch["mlm_labels"], batch["nsp_labels"]  # (N,), (B,)
        mlm_loss = F.cross_entropy(mlm.float(), labels)
        nsp_loss = F.cross_entropy(nsp.float(), nsp_labels) if self.cfg.nsp else torch.zeros((), device=mlm.device)
        loss = mlm_loss + nsp_loss
        with torch.no_grad():
            nsp_ok = (nsp.argmax(-1) == nsp_labels).sum() if self.cfg.nsp else torch.zeros((), device=mlm.device)
            stats = torch.stack([
                loss.detach().double(), mlm_loss.detach().double(), nsp_loss.detach().double(),
                (mlm.argmax(-1) == labels).sum().double(), torch.tensor(float(labels.numel()), device=mlm.device).double(),
                nsp_ok.double(), torch.tensor(float(nsp_labels.numel() if self.cfg.nsp else 0), device=mlm.device).double(),
                batch["attention_mask"].sum().double(), torch.ones((), device=mlm.device).double(),
            ])
        return loss, stats

    def flush_metrics(self) -> dict[str, Any]:
        """The record for the steps since the last call (summed over ranks); resets the sums."""
        s = all_sum(self.sums.tolist(), self.world, self.device)
        elapsed = max(time.monotonic() - self.window_start, 1e-9)
        self.sums.zero_()
        self.window_start = time.monotonic()
        if s[MICRO] == 0:
            return {}
        return {
            "step": self.step,
            "loss": s[LOSS] / s[MICRO],
            "mlm_loss": s[MLM_LOSS] / s[MICRO],
            "nsp_loss": s[NSP_LOSS] / s[MICRO] if self.cfg.nsp else None,
            "mlm_accuracy": s[MLM_OK] / max(s[MLM_N], 1),
            "nsp_accuracy": s[NSP_OK] / s[NSP_N] if s[NSP_N] else None,
            "tokens_per_s": s[TOKENS] / elapsed,
            "lr": self.lr,
            "examples": self.consumed * self.world.world_size,
        }

    @torch.no_grad()
    def evaluate(self, batches: list[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Loss and accuracies on the held-out batches (no dropout; the RNG is not touched)."""
        self.model.eval()
        sums = torch.zeros(9, dtype=torch.float64, device=self.device)
        for batch in batches:
            batch = {k: v.to(self.device) for k, v in batch.items()}
            with self._autocast():
                mlm, nsp = self.model(batch["input_ids"], batch["segment_ids"], batch["attention_mask"], batch["mlm_positions"])
            sums += self._loss(mlm, nsp, batch)[1]
        self.model.train()
        s = sums.tolist()
        out = {"valid_loss": s[LOSS] / max(s[MICRO], 1), "valid_mlm_accuracy": s[MLM_OK] / max(s[MLM_N], 1)}
        if self.cfg.nsp:
            out["valid_nsp_accuracy"] = s[NSP_OK] / max(s[NSP_N], 1)
        return out

    def agree(self, flag: bool) -> bool:
        return any_rank(flag, self.world, self.device)

    def state(self, tokenizer_json: str) -> dict[str, Any]:
        """Everything a resumed job needs (collective under DDP: every rank's RNG is gathered)."""
        rng = gather_objects(torch.get_rng_state(), self.world)
        cuda_rng = gather_objects(torch.cuda.get_rng_state(self.device), self.world) if self.device.type == "cuda" else []
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "step": self.step,
            "consumed": self.consumed,
            "sums": self.sums.cpu(),
            "rng": rng,
            "cuda_rng": cuda_rng,
            "model_config": asdict(self.model.cfg),
            "train_config": asdict(self.cfg),
            "world_size": self.world.world_size,
            "tokenizer": tokenizer_json,
        }

    def restore(self, ckpt: dict[str, Any]) -> None:
        if ckpt.get("world_size", 1) != self.world.world_size:
            raise ConfigError(f"the checkpoint was written by {ckpt.get('world_size')} process(es), not {self.world.world_size}", "resume with the same number of processes")
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if ckpt.get("scaler"):
            self.scaler.load_state_dict(ckpt["scaler"])
        self.step, self.consumed = int(ckpt["step"]), int(ckpt["consumed"])
        self.sums = ckpt["sums"].to(self.device)
        torch.set_rng_state(ckpt["rng"][self.world.rank])
        if self.device.type == "cuda" and ckpt.get("cuda_rng"):
            torch.cuda.set_rng_state(ckpt["cuda_rng"][self.world.rank], self.device)
