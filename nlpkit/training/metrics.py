"""``--metrics FILE``: one JSON object per line, appended as training goes (rank 0 only).

Every record has ``event`` ("log": the mean training losses of the steps since the last record;
"eval": an evaluation), ``step`` (optimizer steps done), ``epoch`` (counted from 1), ``seconds``
(training time over all runs of the job), ``loss``, ``lr``, and on evaluations the family's
metrics (``valid_accuracy``, ``valid_ppl``, ...). Numbers keep 7 significant digits; a
non-finite one is written as null. A resumed job appends to the same file; records
after the checkpoint that a killed run had written are written again.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TextIO


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.7g}") if math.isfinite(value) else None  # significant digits: an lr of 1e-7 stays
    return value


class MetricsWriter:
    def __init__(self, path: str | Path | None, enabled: bool = True) -> None:
        self._file: TextIO | None = None
        if path and enabled:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def write(self, record: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(json.dumps({k: _clean(v) for k, v in record.items()}, allow_nan=False) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
