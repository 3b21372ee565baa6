"""The record conventions every record-per-line command follows (README, "Conventions").

- One record per input line, in input order. A line that cannot be processed still gets a record:
  ``{"text": LINE, "error": MESSAGE}`` in JSONL, an empty/``NA`` row in TSV, plus one warning on
  stderr; ``--strict`` turns the first bad line into an error exit instead.
- JSON is one line per record, UTF-8, never ``NaN``/``Infinity`` (they become ``null``).
- Floats carry 6 significant digits unless a command is asked for more.
- ``--echo`` appends the input line as the last TSV column.

Field glossary (shared by every command): ``text`` (the input line), ``n_tokens``/``n_oov`` (counts),
``tokens``/``oov_words`` (lists), ``log10_prob`` (base-10 log-probability), ``logprob`` (natural log),
``ppl`` (perplexity), ``error`` (why a line was not processed). ``score`` is defined per command.
"""

from __future__ import annotations

import json
import math

TYPE_CHECKING = False  # typing costs ~3 ms to import: a one-off query skips it
if TYPE_CHECKING:
    from typing import Any

from nlpkit.errors import CorpusError

DIGITS = 6
NA = "NA"
_ECHO_MAX = 200  # characters of a bad line quoted in a warning


def _warn(message: str, *args: object) -> None:
    """A warning through the ``nlpkit`` logger; logging is imported only when there is one to give."""
    import logging

    logging.getLogger("nlpkit").warning(message, *args)


def fnum(x: float, digits: int = DIGITS) -> float | None:
    """A float rounded to ``digits`` significant digits; NaN and infinities become ``None``."""
    x = float(x)
    if not math.isfinite(x):
        return None
    return float(f"{x:.{digits}g}")


def ftext(x: float | None, digits: int = DIGITS) -> str:
    """A float for a TSV column: ``digits`` significant digits, ``NA`` when missing or not finite."""
    if x is None or not math.isfinite(float(x)):
        return NA
    return f"{float(x):.{digits}g}"


def rounded(obj: Any, digits: int = DIGITS) -> Any:
    """``obj`` with every float (in dicts and lists too) at ``digits`` significant digits."""
    if isinstance(obj, float):
        return fnum(obj, digits)
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [rounded(v, digits) for v in obj]
    return obj


def _clean(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def dumps(record: dict[str, Any]) -> str:
    """One-line JSON, non-ASCII kept, non-finite floats as ``null``."""
    try:
        return json.dumps(record, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(_clean(record), ensure_ascii=False, allow_nan=False)


def quote(line: str, limit: int = _ECHO_MAX) -> str:
    """A bad line as it may be shown in one warning: capped, undecodable bytes shown as U+FFFD."""
    text = line.encode("utf-8", "replace").decode("utf-8", "replace")
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


class BadLines:
    """Counts bad lines; warns for each (the first few in full), or raises under ``--strict``."""

    def __init__(self, strict: bool = False, max_warnings: int = 10) -> None:
        self.strict, self.max_warnings, self.count = strict, max_warnings, 0

    def __call__(self, lineno: int, line: str, message: str) -> dict[str, Any]:
        """Record the bad line and return its JSONL error record."""
        self.count += 1
        if self.strict:
            raise CorpusError(f"line {lineno}: {message}", "fix the line, or drop --strict to get an error record and go on")
        if self.count <= self.max_warnings:
            _warn("warning: line %d: %s: %s", lineno, message, quote(line, 80))
        elif self.count == self.max_warnings + 1:
            _warn("warning: more bad lines; a summary follows at the end")
        return {"text": line, "error": message}

    def summary(self) -> None:
        if self.count > self.max_warnings:
            _warn("warning: %d bad lines in all (each has an error record)", self.count)


def tsv_row(fields: list[Any], line: str | None = None) -> str:
    """A TSV row; with ``line`` (``--echo``) the input line is the last column (tabs in it kept as spaces)."""
    cells = [ftext(f) if isinstance(f, float) else ("" if f is None else str(f)) for f in fields]
    if line is not None:
        cells.append(line.replace("\t", " "))
    return "\t".join(cells)
