"""Sampling from a neural LM: feed the prompt once, then one token at a time with the state."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from nlpkit.device import resolve_device, seed_everything
from nlpkit.lm.neural import load_neural


@torch.no_grad()
def neural_samples(model_dir: Path, cfg, device: str, choose: Callable) -> Iterator[str]:  # noqa: ANN001
    dev = resolve_device(device)
    model, vocab, _ = load_neural(model_dir, dev)
    seed_everything(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    prompt = vocab.encode(cfg.prompt) if cfg.prompt.strip() else []
    for _ in range(cfg.num):
        state = model.init_state(1, dev)
        inp = torch.tensor([[vocab.eos_id, *prompt]], device=dev)  # (1, T)
        out: list[int] = []
        for _ in range(cfg.max_tokens):
            logits, state = model(inp, state)  # (1, T, V)
            logp = torch.log_softmax(logits[0, -1].float(), dim=-1).cpu().numpy()
            nxt = choose(logp, cfg, rng)
            if nxt == vocab.eos_id:
                break
            out.append(nxt)
            inp = torch.tensor([[nxt]], device=dev)
        text = vocab.decode(out)
        yield f"{cfg.prompt.strip()} {text}".strip() if cfg.prompt.strip() else text
