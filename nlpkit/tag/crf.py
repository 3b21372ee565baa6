"""A linear-chain conditional random field over per-token tag scores (Lafferty et al. 2001).

The score of tags y_1..y_n for a sentence is

    start[y_1] + sum_t emit[t, y_t] + sum_t trans[y_{t-1}, y_t] + end[y_n]

and p(y | x) = exp(score(y)) / Z. ``log_partition`` computes log Z with the forward algorithm,
``viterbi`` the best sequence, ``marginals`` p(y_t = k | x) with forward-backward. Transitions that
the tagging scheme forbids (``I-X`` after ``O`` in IOB2) get a score of ``FORBIDDEN`` in all three,
so they carry no probability and are never decoded while a valid sequence exists (one always does:
``O``, or ``B-X``/``S-X``, may follow anything).

Sentences in a batch are padded at the end; ``mask`` (B, T) is True on real tokens, and every
sentence has at least one. Dimensions: B batch, T tokens, K tags.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

FORBIDDEN = -1e4  # finite, so logsumexp over only forbidden paths stays finite (never NaN)


class CRF(nn.Module):
    def __init__(self, num_tags: int, allowed: Sequence[Sequence[bool]] | None = None,
                 start_allowed: Sequence[bool] | None = None, end_allowed: Sequence[bool] | None = None) -> None:
        super().__init__()
        k = num_tags
        self.trans = nn.Parameter(torch.empty(k, k).uniform_(-0.1, 0.1))  # (K, K): from i to j
        self.start = nn.Parameter(torch.empty(k).uniform_(-0.1, 0.1))  # (K,)
        self.end = nn.Parameter(torch.empty(k).uniform_(-0.1, 0.1))  # (K,)
        ok = torch.ones(k, k, dtype=torch.bool) if allowed is None else torch.as_tensor(allowed, dtype=torch.bool)
        ok_start = torch.ones(k, dtype=torch.bool) if start_allowed is None else torch.as_tensor(start_allowed, dtype=torch.bool)
        ok_end = torch.ones(k, dtype=torch.bool) if end_allowed is None else torch.as_tensor(end_allowed, dtype=torch.bool)
        # Derived from the tag list and the scheme, so not saved with the weights.
        self.register_buffer("ok", ok, persistent=False)
        self.register_buffer("ok_start", ok_start, persistent=False)
        self.register_buffer("ok_end", ok_end, persistent=False)

    def scores(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Transition, start and end scores with forbidden ones set to FORBIDDEN."""
        f = torch.tensor(FORBIDDEN, dtype=self.trans.dtype, device=self.trans.device)
        return torch.where(self.ok, self.trans, f), torch.where(self.ok_start, self.start, f), torch.where(self.ok_end, self.end, f)

    def sequence_score(self, emit: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B, T, K) scores, (B, T) gold tags, (B, T) mask -> (B,) score of the gold sequences."""
        trans, start, end = self.scores()
        m = mask.to(emit.dtype)  # (B, T)
        e = emit.gather(2, tags.unsqueeze(2)).squeeze(2) * m  # (B, T)
        t = trans[tags[:, :-1], tags[:, 1:]] * m[:, 1:]  # (B, T-1)
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)  # (B,)
        return start[tags[:, 0]] + e.sum(1) + t.sum(1) + end[last]

    def log_partition(self, emit: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Forward algorithm: (B, T, K), (B, T) -> (B,) log Z."""
        return torch.logsumexp(self._forward(emit, mask)[-1] + self.scores()[2], dim=1)

    def _forward(self, emit: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        """alpha_t (B, K) for every t: log-sum of the scores of all prefixes ending in each tag."""
        trans, start, _ = self.scores()
        alpha = start + emit[:, 0]  # (B, K)
        alphas = [alpha]
        for t in range(1, emit.shape[1]):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + emit[:, t]  # (B, K)
            alpha = torch.where(mask[:, t : t + 1], nxt, alpha)  # padding carries the last real alpha
            alphas.append(alpha)
        return alphas

    def nll(self, emit: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(B,) negative log-likelihood of the gold tags."""
        return self.log_partition(emit, mask) - self.sequence_score(emit, tags, mask)

    def marginals(self, emit: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Forward-backward: (B, T, K) p(y_t = k | x); rows of padding are meaningless."""
        trans, _, end = self.scores()
        alphas = self._forward(emit, mask)
        log_z = torch.logsumexp(alphas[-1] + end, dim=1)  # (B,)
        beta = end.expand_as(alphas[0])  # (B, K) at the last position
        betas = [beta]
        for t in range(emit.shape[1] - 2, -1, -1):
            nxt = torch.logsumexp(trans + (emit[:, t + 1] + beta).unsqueeze(1), dim=2)  # (B, K)
            beta = torch.where(mask[:, t + 1 : t + 2], nxt, end.expand_as(nxt))  # the last real token sees only end
            betas.append(beta)
        betas.reverse()
        log_p = torch.stack(alphas, 1) + torch.stack(betas, 1) - log_z[:, None, None]  # (B, T, K)
        return log_p.exp()

    def viterbi(self, emit: torch.Tensor, mask: torch.Tensor) -> list[list[int]]:
        """The best tag sequence of each sentence (lists as long as the sentences)."""
        trans, start, end = self.scores()
        B, T, K = emit.shape
        score = start + emit[:, 0]  # (B, K)
        keep = torch.arange(K, device=emit.device).expand(B, K)  # padding points back to itself
        back = []
        for t in range(1, T):
            best, arg = (score.unsqueeze(2) + trans).max(dim=1)  # (B, K) best previous tag for each tag
            on = mask[:, t : t + 1]  # (B, 1)
            score = torch.where(on, best + emit[:, t], score)
            back.append(torch.where(on, arg, keep))
        last = (score + end).argmax(dim=1)  # (B,)
        path = [last]
        for arg in reversed(back):
            last = arg.gather(1, last.unsqueeze(1)).squeeze(1)
            path.append(last)
        path.reverse()
        tags = torch.stack(path, 1).tolist()  # (B, T)
        lengths = mask.sum(1).tolist()
        return [row[:n] for row, n in zip(tags, lengths)]
