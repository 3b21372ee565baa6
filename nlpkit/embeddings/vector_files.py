"""Where a ``word_vectors`` model keeps its matrices, read without numpy.

``vectors.safetensors`` holds two float32 (V, D) tensors: ``vectors`` as trained and ``unit``, the
same rows L2-normalised at train/import time. ``tensor_spans`` checks the safetensors header (an
8-byte little-endian length, then JSON) and says where each tensor's bytes lie, so the numpy reader
(``vectors.mmap_safetensors``) and the numpy-free one-off query (``blas_query``) read the file the
same way and refuse the same damage with the same message.
"""

from __future__ import annotations

import json
import math
import struct
from collections import namedtuple
from pathlib import Path

TYPE_CHECKING = False  # typing costs ~3 ms to import: a one-off query skips it
if TYPE_CHECKING:
    from typing import Any

from nlpkit.errors import ArtifactError

KIND = "word_vectors"
FORMAT_VERSION = 1
VECTORS_FILE = "vectors.safetensors"
_HINT = "retrain or re-import the vectors"


# offset (int: of the tensor's first byte in the file), nbytes (int), shape (tuple of ints)
TensorSpan = namedtuple("TensorSpan", ["offset", "nbytes", "shape"])


def tensor_spans(path: Path) -> dict[str, TensorSpan]:
    """Every tensor of a safetensors file of float32 tensors, checked against the file's size."""
    try:
        total = path.stat().st_size
        with open(path, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            if size > total - 8:
                raise ValueError(f"header of {size} bytes in a file of {total}")
            header = json.loads(f.read(size))
        if not isinstance(header, dict):
            raise ValueError("the header is not a JSON object")
    except (OSError, ValueError, struct.error) as exc:
        raise ArtifactError(f"cannot read {path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", _HINT) from None
    spans = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end, shape = _tensor_entry(path, name, info, total - 8 - size)
        spans[name] = TensorSpan(8 + size + begin, end - begin, shape)
    return spans


def _tensor_entry(path: Path, name: str, info: Any, data_bytes: int) -> tuple[int, int, tuple[int, ...]]:
    """Check one header entry: float32, offsets inside the file, a shape that matches its bytes."""
    try:
        dtype, (begin, end), shape = info["dtype"], info["data_offsets"], tuple(info["shape"])
        ok = all(isinstance(x, int) and x >= 0 for x in (begin, end, *shape))
    except (TypeError, KeyError, ValueError):
        ok = False
    if not ok:
        raise ArtifactError(f"{path}: malformed header entry for tensor {name!r}", _HINT)
    if dtype != "F32":
        raise ArtifactError(f"{path}: tensor {name} is {dtype}, expected F32", "re-import the vectors")
    if not begin <= end <= data_bytes or end - begin != 4 * math.prod(shape):
        raise ArtifactError(f"{path}: tensor {name} of shape {list(shape)} does not match its bytes", _HINT)
    return begin, end, shape
