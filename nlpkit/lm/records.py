"""What ``lm score`` reports: one ``LineScore`` per line and the corpus ``Summary``, for every architecture.

Kept apart from ``score`` (the n-gram path and the dispatch), ``neural_score``, ``pll`` and
``interpolate`` so that all of them build the same records without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MARKERS = ("<s>", "</s>")
TokenScore = tuple[str, str, float, "int | None", bool]  # token, scored_as, log10 p, n-gram length, oov


@dataclass(slots=True)
class LineScore:
    text: str
    log10_prob: float = 0.0
    n_tokens: int = 0
    n_oov: int = 0
    per_token: list[TokenScore] | None = None
    error: str | None = None

    @property
    def ppl(self) -> float:
        return float(10.0 ** (-self.log10_prob / self.n_tokens))


@dataclass
class Summary:
    """Corpus totals; the excluding-OOV figures drop OOV tokens from both sums, as KenLM's query."""

    log10_prob: float = 0.0
    n_tokens: int = 0
    n_oov: int = 0
    oov_log10_prob: float = 0.0
    lines: int = 0
    bad_lines: int = 0
    extra: dict = field(default_factory=dict)

    def add(self, s: LineScore, oov_logp: float) -> None:
        self.log10_prob += s.log10_prob
        self.n_tokens += s.n_tokens
        self.n_oov += s.n_oov
        self.oov_log10_prob += oov_logp
        self.lines += 1

    def ppl(self) -> float:
        return float(10.0 ** (-self.log10_prob / max(self.n_tokens, 1)))

    def ppl_without_oov(self) -> float:
        n = self.n_tokens - self.n_oov
        return float(10.0 ** (-(self.log10_prob - self.oov_log10_prob) / max(n, 1)))


def bad_line(line: str) -> str | None:
    """Why ``line`` cannot be scored, or None."""
    if "s>" in line and any(t in MARKERS for t in line.split()):
        return "the line holds a literal <s> or </s> (lm score adds the sentence markers itself)"
    return None
