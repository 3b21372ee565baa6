"""Output formats of `nlpkit lm score` (kept apart so the command module stays thin)."""

from __future__ import annotations

import json

from nlpkit.errors import ConfigError


def parse_prune(text: str) -> list[int]:
    if not text.strip():
        return []
    try:
        return [int(t) for t in text.replace(" ", ",").split(",") if t]
    except ValueError:
        raise ConfigError(f"--prune takes comma-separated integers, not {text!r}", "e.g. --prune 0,0,1") from None


def format_record(record, fmt: str, per_token: bool) -> str:  # noqa: ANN001 - nlpkit.lm.score.LineScore
    """One output line: TSV ``log10_prob tokens oov ppl [token=log10p:n ...]`` or one JSON object."""
    lp, ppl = round(record.log10_prob, 6), round(record.ppl, 4)
    if fmt == "jsonl":
        obj = {"log10_prob": lp, "tokens": record.tokens, "oov": record.oov, "ppl": ppl}
        if per_token:
            obj["per_token"] = [
                {"token": t, "log10_prob": round(v, 6), **({"ngram": n} if n is not None else {})}
                for t, v, n in record.per_token
            ]
        return json.dumps(obj, ensure_ascii=False)
    fields = [f"{lp:.6f}", str(record.tokens), str(record.oov), f"{ppl:.4f}"]
    if per_token:
        fields.append(" ".join(f"{t}={v:.4f}" + (f":{n}" if n is not None else "") for t, v, n in record.per_token))
    return "\t".join(fields)


def summary_lines(s) -> list[str]:  # noqa: ANN001 - nlpkit.lm.score.Summary
    return [
        f"lines {s.lines}  tokens {s.tokens}  oov {s.oov}  log10_prob {s.log10_prob:.4f}",
        f"perplexity {s.ppl():.4f} (including OOVs), {s.ppl_without_oov():.4f} (excluding OOVs)",
    ]
