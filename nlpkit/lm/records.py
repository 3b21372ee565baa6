"""What ``lm score`` reports: one ``LineScore`` per line and the corpus ``Summary``, for every architecture.

Kept apart from ``score`` (the n-gram path and the dispatch) and ``neural_score`` so that both
build the same records without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class LineScore:
    log10_prob: float
    tokens: int
    oov: int
    per_token: list[tuple[str, float, int | None]] | None = None  # (token, log10 p, n-gram length)

    @property
    def ppl(self) -> float:
        return float(10.0 ** (-self.log10_prob / self.tokens))


@dataclass
class Summary:
    """Corpus totals; the excluding-OOV figures drop OOV tokens from both sums, as KenLM's query."""

    log10_prob: float = 0.0
    tokens: int = 0
    oov: int = 0
    oov_log10_prob: float = 0.0
    lines: int = 0
    extra: dict = field(default_factory=dict)

    def add(self, s: LineScore, oov_logp: float) -> None:
        self.log10_prob += s.log10_prob
        self.tokens += s.tokens
        self.oov += s.oov
        self.oov_log10_prob += oov_logp
        self.lines += 1

    def ppl(self) -> float:
        return float(10.0 ** (-self.log10_prob / max(self.tokens, 1)))

    def ppl_without_oov(self) -> float:
        n = self.tokens - self.oov
        return float(10.0 ** (-(self.log10_prob - self.oov_log10_prob) / max(n, 1)))
