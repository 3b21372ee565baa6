"""The training loop behind ``train_translation``: updates, validation, checkpoints, publishing."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from nlpkit.artifacts import artifact_writer, save_checkpoint, write_config
from nlpkit.errors import ConfigError, CorpusError
from nlpkit.progress import Progress
from nlpkit.translate.beam import BeamConfig
from nlpkit.translate.bleu import corpus_bleu
from nlpkit.translate.data import bucket, make_batch
from nlpkit.translate.decode import translate_texts
from nlpkit.translate.model import FORMAT_VERSION, KIND, Translator, build_model, model_config, save_weights
from nlpkit.translate.schedule import gold_probability, learning_rate
from nlpkit.translate.vocab import BOS_ID, EOS_ID, PAD_ID, encode, save_vocabs, train_vocabs, vocabs_from_strings, vocabs_to_strings

log = logging.getLogger("nlpkit")


class Trainer:
    def __init__(self, pairs, valid_pairs, arch, model_values, config, device, checkpoint, quiet) -> None:
        self.cfg, self.device, self.quiet, self.arch = config, device, quiet, arch
        self.valid = valid_pairs
        if checkpoint is not None:
            if checkpoint["arch"] != arch:
                raise ConfigError(f"the checkpoint is for --arch {checkpoint['arch']}, not {arch}", "use the same --arch to resume")
            self.vocabs = vocabs_from_strings(checkpoint["vocabs"])
            self.model_cfg = model_config(arch, checkpoint["model_config"])
        else:
            v = config
            self.vocabs = train_vocabs(pairs[0], pairs[1], vocab_size=v.vocab_size, joint=v.joint_vocab, lowercase=v.lowercase)
            sizes = {"src_vocab_size": self.vocabs.src_size, "tgt_vocab_size": self.vocabs.tgt_size}
            self.model_cfg = model_config(arch, {**model_values, **sizes})
        self._encode(pairs)
        self.model = build_model(self.model_cfg).to(device)
        betas = (0.9, 0.98) if arch == "transformer" else (0.9, 0.999)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=config.lr, betas=betas)
        self.amp = device.type == "cuda" if config.amp is None else config.amp and device.type == "cuda"
        self.step = self.epoch = self.batch_pos = 0
        self.elapsed_before = self.cpu_before = 0.0
        self.best: dict[str, Any] | None = None
        self.history: list[dict[str, Any]] = []
        if checkpoint is not None:
            self._restore(checkpoint)

    def _encode(self, pairs) -> None:
        limit = self.cfg.max_len
        src = encode(self.vocabs.src, pairs[0])
        tgt = encode(self.vocabs.tgt, pairs[1])
        keep = [i for i in range(len(src)) if 0 < len(src[i]) <= limit and 0 < len(tgt[i]) <= limit]
        self.dropped = len(src) - len(keep)
        if not keep:
            raise CorpusError(f"no training pair has at most {limit} pieces per side", "raise --max-len")
        if self.dropped:
            log.info("dropped %d training pair(s) longer than --max-len %d pieces", self.dropped, limit)
        self.src_ids = [src[i] for i in keep]
        self.tgt_ids = [tgt[i] for i in keep]
        self.lengths = [(len(self.src_ids[i]), len(self.tgt_ids[i])) for i in range(len(keep))]

    # -- resume --------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "arch": self.arch, "model_config": asdict(self.model_cfg), "vocabs": vocabs_to_strings(self.vocabs),
            "model": self.model.state_dict(), "optimizer": self.opt.state_dict(), "step": self.step,
            "epoch": self.epoch, "batch_pos": self.batch_pos, "elapsed": self.elapsed(), "cpu": self.cpu(), "best": self.best,
            "history": self.history,
        }

    def _restore(self, ckpt: dict[str, Any]) -> None:
        self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        self.step, self.epoch, self.batch_pos = ckpt["step"], ckpt["epoch"], ckpt["batch_pos"]
        self.elapsed_before, self.cpu_before = ckpt["elapsed"], ckpt.get("cpu", 0.0)
        self.best, self.history = ckpt["best"], ckpt["history"]
        log.info("resuming at epoch %d, update %d (%.0f s trained)", self.epoch + 1, self.step, self.elapsed_before)

    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started

    def cpu(self) -> float:
        """CPU seconds of this process (all threads), which on a shared machine is fairer than wall time."""
        return self.cpu_before + time.process_time() - self.cpu_started

    # -- loop ----------------------------------------------------------------------------------
    def run(self, output: Path, started: float) -> dict[str, Any]:
        self.started, self.cpu_started, cfg = started, time.process_time(), self.cfg
        last_ckpt, stopped = time.monotonic(), "epochs"
        n_batches = len(bucket(self.lengths, cfg.max_tokens))
        total = None if cfg.max_time else cfg.epochs * n_batches
        with Progress("train", total=total, unit="batches", quiet=self.quiet) as progress:
            progress.advance(self.epoch * n_batches + self.batch_pos)
            while self.epoch < cfg.epochs and stopped == "epochs":
                batches = bucket(self.lengths, cfg.max_tokens, random.Random(cfg.seed * 1000 + self.epoch))
                while self.batch_pos < len(batches):
                    loss = self.update(batches[self.batch_pos])
                    self.batch_pos += 1
                    progress.advance(1, epoch=self.epoch + 1, loss=loss, lr=self.opt.param_groups[0]["lr"])
                    if cfg.valid_every and self.step % cfg.valid_every == 0:
                        self.validate()
                    if cfg.max_time and self.elapsed() >= cfg.max_time:
                        stopped = "max-time"
                        break
                    if time.monotonic() - last_ckpt >= cfg.checkpoint_every:
                        save_checkpoint(output, self._state())
                        last_ckpt = time.monotonic()
                if stopped == "epochs":
                    self.epoch, self.batch_pos = self.epoch + 1, 0
                if not self.history or self.history[-1]["step"] != self.step:
                    self.validate()
                save_checkpoint(output, self._state())
                last_ckpt = time.monotonic()
        self.result = self.summary(stopped)
        return self.result

    def update(self, index: list[int]) -> float:
        cfg = self.cfg
        batch = make_batch(self.src_ids, self.tgt_ids, index, pad_id=PAD_ID, bos_id=BOS_ID, eos_id=EOS_ID).to(self.device)
        for group in self.opt.param_groups:
            group["lr"] = learning_rate(self.step + 1, cfg.lr, cfg.warmup)
        gold = gold_probability(self.step, cfg.scheduled_sampling, cfg.ss_k, cfg.teacher_forcing)
        self.model.train()
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            logits = self.model(batch.src, batch.src_mask, batch.tgt_in, gold_prob=gold)  # (B, T, V)
        loss = F.cross_entropy(
            logits.float().flatten(0, 1), batch.tgt_out.flatten(), ignore_index=PAD_ID, label_smoothing=cfg.label_smoothing
        )
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip_norm)
        self.opt.step()
        self.step += 1
        return loss.item()

    # -- validation ----------------------------------------------------------------------------
    def validate(self) -> None:
        record: dict[str, Any] = {"epoch": self.epoch, "step": self.step, "seconds": round(self.elapsed(), 1)}
        if self.valid is None:
            self.best = {**record, "state": None}
            self.history.append(record)
            return
        record["valid_loss"] = round(self.valid_loss(), 4)
        if self.cfg.valid_metric == "bleu":
            record["valid_bleu"] = self.valid_bleu()
        score = record.get("valid_bleu", -record["valid_loss"])
        is_best = self.best is None or self.best.get("score") is None or score > self.best["score"]
        if is_best:
            state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.best = {**record, "score": score, "state": state}
        self.history.append(record)
        bleu = f" bleu {record['valid_bleu']:.2f}" if "valid_bleu" in record else ""
        log.info("epoch %d update %d: valid loss %.4f%s%s", self.epoch, self.step, record["valid_loss"], bleu, " (best)" if is_best else "")

    def valid_loss(self) -> float:
        src = encode(self.vocabs.src, self.valid[0], self.cfg.max_len)
        tgt = encode(self.vocabs.tgt, self.valid[1], self.cfg.max_len)
        total, tokens = 0.0, 0
        self.model.eval()
        with torch.no_grad():
            for index in bucket([(len(s), len(t)) for s, t in zip(src, tgt)], self.cfg.max_tokens):
                batch = make_batch(src, tgt, index, pad_id=PAD_ID, bos_id=BOS_ID, eos_id=EOS_ID).to(self.device)
                logits = self.model(batch.src, batch.src_mask.clone(), batch.tgt_in)
                total += float(F.cross_entropy(logits.float().flatten(0, 1), batch.tgt_out.flatten(), ignore_index=PAD_ID, reduction="sum"))
                tokens += batch.n_tokens
        return total / max(tokens, 1)

    def valid_bleu(self) -> float:
        n = self.cfg.valid_lines
        translator = self.translator()
        hyps = translate_texts(translator, self.valid[0][:n], BeamConfig(beam=1), max_tokens=self.cfg.max_tokens)
        return corpus_bleu(hyps, self.valid[1][:n]).score

    def translator(self) -> Translator:
        self.model.eval()
        return Translator(self.model, self.vocabs, {"model": asdict(self.model_cfg)}, self.device)

    # -- results -------------------------------------------------------------------------------
    def summary(self, stopped: str) -> dict[str, Any]:
        best = self.best or {}
        return {
            "arch": self.arch, "updates": self.step, "epochs": self.epoch, "train_seconds": round(self.elapsed(), 1),
            "cpu_seconds": round(self.cpu(), 1),
            "stopped_by": stopped, "parameters": sum(p.numel() for p in self.model.parameters()),
            "dropped_long_pairs": self.dropped, "best_step": best.get("step"),
            "best_valid_bleu": best.get("valid_bleu"), "best_valid_loss": best.get("valid_loss"), "history": self.history,
        }

    def publish(self, output: Path, data: dict[str, Any]) -> None:
        """Write the artefact with the best weights (the last ones when there is no validation)."""
        if self.best is not None and self.best.get("state") is not None:
            self.model.load_state_dict(self.best["state"])
        with artifact_writer(output, force=True) as tmp:
            save_weights(self.model, tmp)
            save_vocabs(self.vocabs, tmp)
            train = {**asdict(self.cfg), "results": self.result}
            write_config(tmp, KIND, model=asdict(self.model_cfg), train=train, data=data, format_version=FORMAT_VERSION)
