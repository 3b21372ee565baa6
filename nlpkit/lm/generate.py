"""`lm generate`: sample sentences from any LM (n-gram or neural).

Each step turns the model's next-token distribution into a sample: divide the log-probabilities
by ``temperature``, keep the ``top_k`` most likely tokens and the smallest set whose probability
reaches ``top_p`` (nucleus sampling), renormalise, draw. ``<s>`` is never drawn and a sentence ends
at ``</s>`` or after ``max_tokens`` tokens. The n-gram path uses numpy only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlpkit.artifacts import read_config
from nlpkit.errors import ConfigError


@dataclass
class GenerateConfig:
    prompt: str = ""
    max_tokens: int = 50
    temperature: float = 1.0
    top_k: int = 0  # 0: no limit
    top_p: float = 1.0
    num: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_tokens < 1 or self.num < 1:
            raise ConfigError("--max-tokens and --num must be at least 1")
        if self.temperature <= 0:
            raise ConfigError("--temperature must be positive", "use e.g. 0.8; lower is more conservative")
        if not 0 < self.top_p <= 1 or self.top_k < 0:
            raise ConfigError("--top-p must be in (0, 1] and --top-k >= 0")


def choose(logp: np.ndarray, cfg: GenerateConfig, rng: np.random.Generator) -> int:
    """Draw one id from natural-log probabilities ``logp`` (V,), -inf for impossible ids."""
    z = logp / cfg.temperature
    order = np.argsort(-z, kind="stable")
    if cfg.top_k:
        order = order[: cfg.top_k]
    z = z[order]
    p = np.exp(z - z.max())
    p /= p.sum()
    if cfg.top_p < 1.0:
        keep = int(np.searchsorted(np.cumsum(p), cfg.top_p) + 1)
        p = p[:keep] / p[:keep].sum()
        order = order[:keep]
    return int(order[rng.choice(len(p), p=p)])


def _ngram_samples(model_dir: Path, config: dict, cfg: GenerateConfig) -> Iterator[str]:
    from nlpkit.lm.ngram_model import load_ngram

    model = load_ngram(model_dir, config)
    rng = np.random.default_rng(cfg.seed)
    prompt = [model.index.get(w, model.unk_id) for w in model.prepare([cfg.prompt])[0].split()]
    for _ in range(cfg.num):
        ids = [model.bos_id, *prompt]
        out: list[int] = []
        for _ in range(cfg.max_tokens):
            nxt = choose(model.next_logprobs(ids) * np.log(10.0), cfg, rng)
            if nxt == model.eos_id:
                break
            ids.append(nxt)
            out.append(nxt)
        text = " ".join(model.words[i] for i in out)
        if model.tokenizer is not None:  # pieces: glue "##" continuations back onto their word
            text = text.replace(" ##", "")
        yield " ".join([*cfg.prompt.split(), *text.split()])


def generate(model_dir: str | Path, cfg: GenerateConfig, device: str = "auto") -> Iterator[str]:
    """Yield ``cfg.num`` samples, each the prompt followed by the generated text."""
    config = read_config(model_dir, {"ngram_lm": 2, "neural_lm": 1})
    if config["kind"] == "ngram_lm":
        return _ngram_samples(Path(model_dir), config, cfg)
    from nlpkit.lm.neural_generate import neural_samples

    return neural_samples(Path(model_dir), cfg, device, choose)
