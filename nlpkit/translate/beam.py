"""Batched beam search, kept apart from the models (as fairseq keeps ``search.py`` apart).

A model plugs in through three methods (see ``StepModel``):

- ``start(src, src_mask) -> state``: encode a batch of source sentences;
- ``step(state, tokens) -> (lprobs, attn, state)``: log-probabilities of the next token given the
  whole prefix ``tokens`` (N, t) that starts with BOS; ``attn`` (N, S) or None;
- ``reorder(state, index) -> state``: keep/duplicate/reorder rows of the state (index (N',)).

Every row of ``tokens`` is one hypothesis; the K hypotheses of one sentence sit in K consecutive
rows. At each step the K*V extensions of a sentence are ranked, hypotheses ending in EOS among the
top K are finalised with the score ``logprob / length ** lenpen`` (length counts the EOS, as in
fairseq), and the best K that do not end the sentence go on. Each sentence keeps its best K
finished hypotheses. It is done when no active hypothesis can still beat the n-th best of them,
n = ``nbest`` (an exact bound, see ``_done``: the n best returned are those running on would give;
unlike fairseq, which stops at the first K, early junk endings cannot crowd out a better, longer
hypothesis), or at its maximum length (``max_len_a * src_len +
max_len_b`` tokens, after which only EOS is allowed). Greedy search (K = 1) stops at its first
EOS. Finished sentences are dropped from the batch, so long sentences do not make short ones pay,
and the first step is scored once per sentence, before the state is copied into K rows.
Models decode incrementally: ``step`` gets the whole prefix but may read only its last token
(the RNN's hidden state and the Transformer's key/value cache hold the rest).

``early_stop`` trades that exactness for speed: a sentence stops at its K-th finished hypothesis,
as in fairseq, instead of running on until no active hypothesis can win (which, with a length
penalty, can take several steps past the natural end).

``lenpen`` 0 ranks by raw log-probability, which favours short outputs; 1 divides by length.
Not implemented: diverse beam search, sampling, prefix constraints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from nlpkit.errors import ConfigError

if TYPE_CHECKING:
    import torch


@dataclass
class BeamConfig:
    beam: int = 5  # hypotheses kept per sentence; 1 is greedy search
    nbest: int = 1  # hypotheses returned per sentence (at most beam)
    lenpen: float = 1.0  # length normalisation exponent: score = logprob / length ** lenpen
    max_len_a: float = 1.5  # output length limit: a * source length + b (in subword pieces)
    max_len_b: int = 10
    min_len: int = 1  # EOS is forbidden before this many tokens
    no_repeat_ngram: int = 0  # forbid repeating any n-gram of this size (0: off)
    attention: bool = False  # keep the attention of each output token
    early_stop: bool = False  # stop a sentence at its K-th finished hypothesis (fairseq): faster, may miss a better one

    def __post_init__(self) -> None:
        if self.beam < 1:
            raise ConfigError(f"--beam must be at least 1 (got {self.beam})", "use 1 for greedy search")
        if not 1 <= self.nbest <= self.beam:
            raise ConfigError(f"--nbest must be between 1 and --beam ({self.beam})")
        if self.max_len_a < 0 or self.max_len_b < 0:
            raise ConfigError("--max-len-a and --max-len-b must be 0 or more")
        if self.max_len_a == 0 and self.max_len_b < 1:
            raise ConfigError("--max-len-b must be at least 1 when --max-len-a is 0")
        if self.min_len < 0 or self.no_repeat_ngram < 0:
            raise ConfigError("--min-len and --no-repeat-ngram must be 0 or more")


class StepModel(Protocol):
    def start(self, src: torch.Tensor, src_mask: torch.Tensor) -> Any: ...

    def step(self, state: Any, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, Any]: ...

    def reorder(self, state: Any, index: torch.Tensor) -> Any: ...


@dataclass
class Hypothesis:
    tokens: list[int]  # output pieces, without BOS and EOS
    score: float  # logprob / length_term: what the beam ranks by
    logprob: float  # sum of the log-probabilities of every token, EOS included
    length_term: float  # length ** lenpen
    positional_scores: list[float]  # log-probability of each token, EOS last
    attention: list[list[float]] | None = field(default=None, repr=False)  # (len(tokens)+1, S)


def max_lengths(src_lengths: torch.Tensor, config: BeamConfig, cap: int | None = None) -> torch.Tensor:
    """Per-sentence limit on generated tokens before EOS: floor(a * len + b), at least 1."""
    import torch

    limit = torch.floor(src_lengths.float() * config.max_len_a + config.max_len_b).long().clamp(min=1)
    if cap is not None:
        limit = limit.clamp(max=max(cap, 1))
    return limit


def beam_search(
    model: StepModel,
    src: torch.Tensor,
    src_mask: torch.Tensor,
    config: BeamConfig,
    *,
    bos_id: int,
    eos_id: int,
    pad_id: int,
    max_len_cap: int | None = None,
) -> list[list[Hypothesis]]:
    """Translate a batch: ``src`` (B, S) ids, ``src_mask`` (B, S) True on real tokens.

    Returns, for each sentence in order, its ``nbest`` hypotheses, best first.
    """
    import torch

    search = _Search(model, src, src_mask, config, bos_id, eos_id, pad_id, max_len_cap)
    with torch.no_grad():
        return search.run()


class _Search:
    """The state of one batched search; ``run`` is the loop, each helper one part of a step."""

    def __init__(self, model, src, src_mask, config, bos_id, eos_id, pad_id, max_len_cap) -> None:
        import torch

        self.model, self.cfg = model, config
        self.bos, self.eos, self.pad = bos_id, eos_id, pad_id
        n, k = src.size(0), config.beam
        self.limits = max_lengths(src_mask.sum(1), config, max_len_cap).tolist()
        self.alive = list(range(n))  # sentence id of each block of K rows
        self.finished: list[list[Hypothesis]] = [[] for _ in range(n)]
        # The K copies of a sentence are identical until the first step has been scored, so that
        # step runs on one row per sentence and the state is expanded after it.
        self.expand = torch.arange(n, device=src.device).repeat_interleave(k) if k > 1 else None
        self.state = model.start(src, src_mask)
        self.tokens = torch.full((n * k, 1), bos_id, dtype=torch.long, device=src.device)  # (N, t)
        # Only the first copy of each sentence is live at step 0, so the K copies do not fill the beam.
        self.scores = torch.full((n, k), -math.inf, device=src.device)
        self.scores[:, 0] = 0.0  # (n, K)
        self.pos_scores = torch.zeros((n * k, 0), device=src.device)  # (N, t-1)
        self.attn: torch.Tensor | None = None  # (N, t-1, S) when kept

    def run(self) -> list[list[Hypothesis]]:
        step = 0
        while self.alive:
            lprobs, attn = self._step()  # (N, V), (N, S) or None
            lprobs = self._constrain(lprobs.float(), step)
            self._advance(lprobs, attn, step)
            step += 1
        return [sorted(h, key=lambda h: -h.score)[: self.cfg.nbest] for h in self.finished]

    def _step(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.expand is None:
            lprobs, attn, self.state = self.model.step(self.state, self.tokens)
            return lprobs, attn
        first = self.tokens[:: self.cfg.beam]  # (n, 1): one row per sentence
        lprobs, attn, state = self.model.step(self.state, first)  # (n, V)
        self.state = self.model.reorder(state, self.expand)
        lprobs = lprobs.index_select(0, self.expand)  # (N, V)
        attn = attn.index_select(0, self.expand) if attn is not None else None
        self.expand = None
        return lprobs, attn

    def _constrain(self, lprobs: torch.Tensor, step: int) -> torch.Tensor:
        lprobs[:, self.pad] = -math.inf
        lprobs[:, self.bos] = -math.inf
        if step < self.cfg.min_len:
            lprobs[:, self.eos] = -math.inf
        if self.cfg.no_repeat_ngram:
            self._block_ngrams(lprobs)
        k = self.cfg.beam
        at_limit = [i for i, sent in enumerate(self.alive) if step >= self.limits[sent]]
        for i in at_limit:  # only EOS may follow; this wins over --min-len
            lprobs[i * k : (i + 1) * k] = -math.inf
            lprobs[i * k : (i + 1) * k, self.eos] = 0.0
        return lprobs

    def _block_ngrams(self, lprobs: torch.Tensor) -> None:
        n = self.cfg.no_repeat_ngram
        for row, generated in enumerate(self.tokens[:, 1:].tolist()):
            if len(generated) < n - 1:
                continue
            tail = generated[len(generated) - n + 1 :]
            banned = {generated[i + n - 1] for i in range(len(generated) - n + 1) if generated[i : i + n - 1] == tail}
            if banned:
                lprobs[row, list(banned)] = -math.inf

    def _advance(self, lprobs: torch.Tensor, attn: torch.Tensor | None, step: int) -> None:
        import torch

        n, k = len(self.alive), self.cfg.beam
        vocab = lprobs.size(1)
        cand = (self.scores.unsqueeze(2) + lprobs.view(n, k, vocab)).view(n, k * vocab)  # (n, K*V)
        top_scores, top_idx = cand.topk(min(2 * k, k * vocab), dim=1)  # (n, 2K), best first
        top_beam = torch.div(top_idx, vocab, rounding_mode="floor")  # (n, 2K)
        top_tok = top_idx % vocab
        base = (torch.arange(n, device=lprobs.device) * k).unsqueeze(1)  # (n, 1)
        top_rows = base + top_beam  # (n, 2K) rows of the hypotheses they extend
        ends = (top_tok == self.eos) & torch.isfinite(top_scores)
        ends[:, k:] = False  # as fairseq: only EOS among the best K candidates finalises
        self._finalise(ends, top_scores, top_rows, lprobs, attn, step)

        # The best K candidates that do not end the sentence continue.
        go_on = top_scores.masked_fill(top_tok == self.eos, -math.inf)
        next_scores, pick = go_on.topk(k, dim=1)  # (n, K)
        rows = top_rows.gather(1, pick)  # (n, K)
        toks = top_tok.gather(1, pick)
        best_active = next_scores.max(dim=1).values.tolist()  # (n,)
        keep = [i for i, sent in enumerate(self.alive) if not self._done(sent, step, best_active[i])]
        if not keep:
            self.alive = []
            return
        keep_t = torch.tensor(keep, device=lprobs.device)
        rows, toks, next_scores = rows[keep_t].view(-1), toks[keep_t].view(-1), next_scores[keep_t]
        self.tokens = torch.cat([self.tokens[rows], toks.unsqueeze(1)], dim=1)  # (N', t+1)
        self.pos_scores = torch.cat([self.pos_scores[rows], lprobs[rows, toks].unsqueeze(1)], dim=1)
        if self.cfg.attention and attn is not None:
            step_attn = attn[rows].float().unsqueeze(1)  # (N', 1, S)
            self.attn = step_attn if self.attn is None else torch.cat([self.attn[rows], step_attn], dim=1)
        self.scores = next_scores
        self.state = self.model.reorder(self.state, rows)
        self.alive = [self.alive[i] for i in keep]

    def _done(self, sent: int, step: int, best_active: float) -> bool:
        """Done at the length limit, or when no active hypothesis can enter the ``nbest`` returned.

        Greedy search (K = 1) stops at its first EOS. For K > 1 the bound is exact: log-probs only
        fall as a hypothesis grows, so its final score is at most logprob / L ** lenpen for the
        most favourable final length L (the limit when lenpen > 0, the next step when < 0). A later
        hypothesis enters the n best only by beating the n-th best finished one (a tie goes after
        it, see ``_keep``), so once the bound is at or below that score the output cannot change:
        with ``nbest`` 1 the search stops as soon as nothing can beat the best finished hypothesis,
        not the worst of K, and returns what running on would return.
        """
        if step >= self.limits[sent]:
            return True
        finished = self.finished[sent]
        if self.cfg.beam == 1 or self.cfg.early_stop:
            return len(finished) >= self.cfg.beam
        if len(finished) < self.cfg.nbest:
            return False
        if best_active == -math.inf:
            return True
        lenpen = self.cfg.lenpen
        best_length = self.limits[sent] + 1 if lenpen > 0 else step + 2
        bound = best_active / best_length**lenpen
        return bound <= finished[self.cfg.nbest - 1].score  # kept best first

    def _finalise(self, ends, top_scores, top_rows, lprobs, attn, step: int) -> None:
        hits = ends.nonzero()  # (E, 2): (sentence slot, candidate) of each EOS that ends a hypothesis
        if hits.numel() == 0:
            return
        import torch

        length = step + 1  # generated tokens, EOS included
        length_term = length**self.cfg.lenpen
        slot, cand = hits[:, 0], hits[:, 1]
        rows = top_rows[slot, cand]  # (E,) rows of the hypotheses that end
        logprobs = top_scores[slot, cand].tolist()
        tokens = self.tokens[rows, 1:].tolist()
        positional = torch.cat([self.pos_scores[rows], lprobs[rows, self.eos].unsqueeze(1)], dim=1).tolist()
        attention = None
        if self.cfg.attention and attn is not None:
            last = attn[rows].float().unsqueeze(1)  # (E, 1, S)
            attention = (last if self.attn is None else torch.cat([self.attn[rows], last], dim=1)).tolist()
        for e, i in enumerate(slot.tolist()):
            sent = self.alive[i]
            if self.cfg.beam == 1 and self.finished[sent]:
                continue
            hyp = Hypothesis(tokens[e], logprobs[e] / length_term, logprobs[e], length_term, positional[e])
            if attention is not None:
                hyp.attention = attention[e]
            self._keep(self.finished[sent], hyp)

    def _keep(self, kept: list[Hypothesis], hyp: Hypothesis) -> None:
        """Keep the best K finished hypotheses, best first (a later, longer one may score better).

        As a stable sort of ``kept + [hyp]`` cut to K: a tie goes after the hypotheses already kept."""
        if len(kept) >= self.cfg.beam and hyp.score <= kept[-1].score:
            return
        at = next((n for n, h in enumerate(kept) if h.score < hyp.score), len(kept))
        kept.insert(at, hyp)
        del kept[self.cfg.beam :]
