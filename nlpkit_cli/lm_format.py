"""Output formats of `nlpkit lm score` (kept apart so the command module stays thin).

JSONL: ``{"text", "log10_prob", "n_tokens", "n_oov", "ppl", "tokens", "oov"[, "per_token"]}``;
``tokens``/``oov`` repeat ``n_tokens``/``n_oov`` for one release (deprecated). Per token:
``{"token", "scored_as", "log10_prob", "ngram" (n-gram models), "oov"}``.
TSV: ``log10_prob n_tokens n_oov ppl [per-token] [text with --echo]``; a per-token cell is
``token=log10p:n``, and an OOV token shows what was scored: ``pear[<unk>]=log10p:n``.
"""

from __future__ import annotations

import json
import math

from nlpkit.errors import ConfigError
from nlpkit_cli._records import NA, dumps, fnum, ftext, tsv_row


def parse_prune(text: str) -> list[int]:
    if not text.strip():
        return []
    try:
        return [int(t) for t in text.replace(" ", ",").split(",") if t]
    except ValueError:
        raise ConfigError(f"--prune takes comma-separated integers, not {text!r}", "e.g. --prune 0,0,1") from None


def _token_obj(token: str, scored_as: str, lp: float, n: int | None, oov: bool) -> dict:
    obj = {"token": token, "scored_as": scored_as, "log10_prob": fnum(lp)}
    if n is not None:
        obj["ngram"] = n
    obj["oov"] = bool(oov)
    return obj


def _token_cell(token: str, scored_as: str, lp: float, n: int | None, oov: bool) -> str:
    name = f"{token}[{scored_as}]" if oov or scored_as != token else token
    return f"{name}={ftext(lp)}" + (f":{n}" if n is not None else "")


def _jtext(text: str) -> str:
    """``json.dumps(text, ensure_ascii=False)``, without its cost for the usual line that needs no escape."""
    if '"' in text or "\\" in text or not text.isprintable():
        return json.dumps(text, ensure_ascii=False)
    return f'"{text}"'


def _jnum(x: float) -> str:
    """``dumps(fnum(x))``: 6 significant digits, ``null`` when not finite."""
    return repr(float(f"{x:.6g}")) if math.isfinite(x) else "null"


def format_record(record, fmt: str, per_token: bool, echo: bool = False) -> str:  # noqa: ANN001 - LineScore
    """One output line for one input line (an error record for a bad line)."""
    if fmt == "jsonl":
        if record.error is not None:
            return dumps({"text": record.text, "error": record.error})
        if per_token:
            obj = {"text": record.text, "log10_prob": fnum(record.log10_prob), "n_tokens": record.n_tokens,
                   "n_oov": record.n_oov, "ppl": fnum(record.ppl), "tokens": record.n_tokens, "oov": record.n_oov,
                   "per_token": [_token_obj(*t) for t in record.per_token]}
            return dumps(obj)
        n, o = record.n_tokens, record.n_oov  # the same text as dumps() of the dict, built directly: hot path
        return (f'{{"text": {_jtext(record.text)}, "log10_prob": {_jnum(record.log10_prob)}, "n_tokens": {n}, '
                f'"n_oov": {o}, "ppl": {_jnum(record.ppl)}, "tokens": {n}, "oov": {o}}}')
    echoed = record.text if echo else None
    if record.error is not None:
        return tsv_row([NA, NA, NA, NA] + ([""] if per_token else []), echoed)
    fields = [record.log10_prob, record.n_tokens, record.n_oov, record.ppl]
    if per_token:
        fields.append(" ".join(_token_cell(*t) for t in record.per_token))
    return tsv_row(fields, echoed)


def format_block(records: list, fmt: str, per_token: bool, echo: bool = False) -> str:  # noqa: ANN001 - LineScore
    """The output lines of many records, each ending in a newline: ``format_record`` of each.

    Plain JSONL records (the hot path of scoring a large file) are formatted inline, without a
    function call per record or per number: the same text as ``format_record``.
    """
    if fmt != "jsonl" or per_token:
        return "".join([format_record(r, fmt, per_token, echo) + "\n" for r in records])
    out = []
    dumps_text = json.dumps
    for r in records:
        if r.error is not None:
            out.append(format_record(r, fmt, per_token, echo) + "\n")
            continue
        text, lp, n, o = r.text, r.log10_prob, r.n_tokens, r.n_oov
        if '"' in text or "\\" in text or not text.isprintable():
            text = dumps_text(text, ensure_ascii=False)
        else:
            text = f'"{text}"'
        ppl = float(10.0 ** (-lp / n))  # LineScore.ppl
        # _jnum(x) without its float parse and repr: "%.6g" already is the shortest repr when it
        # has a point and no exponent; an integral value only lacks repr's ".0".
        lp_s, ppl_s = f"{lp:.6g}", f"{ppl:.6g}"
        if "e" in lp_s or "n" in lp_s:  # an exponent, inf or nan: the general rule
            lp_s = _jnum(lp)
        elif "." not in lp_s:
            lp_s += ".0"
        if "e" in ppl_s or "n" in ppl_s:
            ppl_s = _jnum(ppl)
        elif "." not in ppl_s:
            ppl_s += ".0"
        out.append(f'{{"text": {text}, "log10_prob": {lp_s}, "n_tokens": {n}, "n_oov": {o}, "ppl": {ppl_s}, '
                   f'"tokens": {n}, "oov": {o}}}\n')
    return "".join(out)


def summary_lines(s) -> list[str]:  # noqa: ANN001 - nlpkit.lm.score.Summary
    """Corpus figures for stderr; with OOVs present the OOV-excluded perplexity comes first."""
    head = f"lines {s.lines}  n_tokens {s.n_tokens}  n_oov {s.n_oov}  log10_prob {s.log10_prob:.6g}"
    if s.bad_lines:
        head += f"  bad lines {s.bad_lines}"
    if s.n_oov:
        ppl = (f"perplexity {s.ppl_without_oov():.6g} (excluding {s.n_oov} OOV tokens), "
               f"{s.ppl():.6g} (including OOVs, which are scored as <unk>)")
    else:
        ppl = f"perplexity {s.ppl():.6g} (no OOVs)"
    return [head, ppl]
