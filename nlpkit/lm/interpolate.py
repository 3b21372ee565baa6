"""Linear interpolation of language models, with weights tuned by EM (SRILM's compute-best-mix).

A mix scores each token with ``p(w | h) = sum_m lambda_m p_m(w | h)``. ``lm interpolate`` scores
the tuning text with every model, token by token, and runs EM on the weights from the uniform
start::

    lambda_m <- mean over tokens t of  lambda_m p_m(t) / sum_j lambda_j p_j(t)

until no weight moves by more than 1e-9. The log-likelihood is concave in the weights, so EM
reaches the best mix: its perplexity on the tuning text is at most the best single model's.

Any n-gram or neural models mix, as long as they score the same tokens: word-level vocabularies
(a model over WordPiece pieces is refused). Words a model does not know are scored as its
``<unk>``, as SRILM does. The artefact (kind ``lm_mix``) is a config.json holding the absolute
paths of the models and the weights; ``lm score -m MIX`` scores with it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from itertools import tee
from pathlib import Path

import numpy as np

from nlpkit.artifacts import artifact_writer, read_config, write_config
from nlpkit.errors import ConfigError
from nlpkit.lm.score import LineScore, Summary, score_lines
from nlpkit.locking import output_lock

log = logging.getLogger("nlpkit")

KIND = "lm_mix"
FORMAT_VERSION = 1
LN10 = math.log(10.0)


def check_word_level(model_dir: str | Path) -> None:
    config = read_config(model_dir, {"ngram_lm": 2, "neural_lm": 1})
    pieces = config["model"].get("tokenizer") if config["kind"] == "ngram_lm" else config.get("vocab") == "wordpiece"
    if pieces:
        raise ConfigError(f"{model_dir} scores WordPiece pieces, not words", "interpolate word-level models only")


def em_weights(logp: np.ndarray, tol: float = 1e-9, max_iter: int = 10_000) -> tuple[np.ndarray, int]:
    """Mixture weights maximising the likelihood of per-token log10 probabilities ``logp`` (T, M)."""
    ln = logp * LN10  # (T, M)
    ln = ln - ln.max(axis=1, keepdims=True)  # per-token scaling leaves the posteriors unchanged
    p = np.exp(ln)
    w = np.full(p.shape[1], 1.0 / p.shape[1])
    for it in range(1, max_iter + 1):
        post = p * w  # (T, M)
        post /= post.sum(axis=1, keepdims=True)
        new = post.mean(axis=0)
        if np.abs(new - w).max() < tol:
            return new / new.sum(), it
        w = new
    return w / w.sum(), max_iter


def mix_logp(logp: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """log10 of ``sum_m w_m 10 ** logp[:, m]`` for (T, M) per-token scores."""
    with np.errstate(divide="ignore"):
        return np.logaddexp.reduce(logp * LN10 + np.log(weights), axis=1) / LN10


def _token_logps(model_dir: str | Path, lines: list[str], device: str, batch_size: int) -> list[np.ndarray]:
    return [np.array([t[2] for t in r.per_token]) if r.error is None else np.zeros(0)
            for r in score_lines(model_dir, lines, per_token=True, device=device, batch_size=batch_size)]


def interpolate(models: list[str | Path], tune: list[str], out_dir: str | Path, *, device: str = "auto",
                batch_size: int = 64, tune_name: str = "", force: bool = False) -> dict:
    """Tune the weights of ``models`` on the lines ``tune``; write the mix to ``out_dir``."""
    from nlpkit.artifacts import check_output

    check_output(out_dir, KIND, force)  # refused before the models are scored
    if len(models) < 2:
        raise ConfigError("interpolation needs at least two models", "pass -m A -m B")
    for m in models:
        check_word_level(m)
    per_model = [_token_logps(m, tune, device, batch_size) for m in models]
    lengths = {tuple(len(x) for x in scores) for scores in per_model}
    if len(lengths) != 1:
        raise ConfigError("the models do not score the same tokens", "interpolate word-level models only")
    logp = np.stack([np.concatenate(scores) for scores in per_model], axis=1)  # (T, M)
    weights, iterations = em_weights(logp)
    n = logp.shape[0]
    ppl = {str(m): float(10 ** (-logp[:, i].sum() / n)) for i, m in enumerate(models)}
    mix_ppl = float(10 ** (-mix_logp(logp, weights).sum() / n))
    log.info("EM: %d iterations; weights %s; tuning perplexity %s, mix %.6g", iterations,
             " ".join(f"{w:.4g}" for w in weights), " ".join(f"{v:.6g}" for v in ppl.values()), mix_ppl)
    with output_lock(out_dir), artifact_writer(out_dir, kind=KIND, force=force) as tmp:
        return write_config(
            tmp, KIND, format_version=FORMAT_VERSION,
            model={"models": [str(Path(m).resolve()) for m in models], "weights": weights.tolist()},
            train={"tune": tune_name, "tokens": n, "iterations": iterations, "ppl": ppl, "mix_ppl": mix_ppl},
        )


def mix_scores(config: dict, lines: Iterable[str], *, per_token: bool, summary: Summary | None, device: str,
               batch_size: int, interactive: bool = False) -> Iterator[LineScore]:
    """Records of the mix: each token's probability is the weighted sum of the models'."""
    models, weights = config["model"]["models"], np.asarray(config["model"]["weights"])
    streams = tee(lines, len(models))
    gens = [score_lines(m, s, per_token=True, device=device, batch_size=batch_size, interactive=interactive)
            for m, s in zip(models, streams)]
    for recs in zip(*gens):
        first = recs[0]
        if any(r.error is not None for r in recs) or len({len(r.per_token) for r in recs}) != 1:
            error = next((r.error for r in recs if r.error), "the models scored different tokens")
            if summary is not None:
                summary.bad_lines += 1
            yield LineScore(first.text, error=error)
            continue
        lp = mix_logp(np.array([[t[2] for t in r.per_token] for r in recs]).T, weights)  # (tokens,)
        oov = np.array([[t[4] for t in r.per_token] for r in recs]).any(axis=0)
        detail = None
        if per_token:
            detail = [(t[0], t[1], v, None, bool(o)) for t, v, o in zip(first.per_token, lp.tolist(), oov)]
        record = LineScore(first.text, float(lp.sum()), first.n_tokens, int(oov.sum()), detail)
        if summary is not None:
            summary.add(record, float(lp[oov].sum()))
        yield record
