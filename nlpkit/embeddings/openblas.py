"""The OpenBLAS that numpy's wheel bundles, called through ctypes without importing numpy.

Importing numpy costs more than a one-off word-vector query may take, but the query itself is one
matrix-vector product and a few arg-max scans, all in BLAS. numpy's Linux wheels ship OpenBLAS as
``<site-packages>/numpy.libs/lib*openblas64_*.so`` (the same library numpy's ``@`` calls, so the
products are the same). It is found beside numpy's package (located, not imported) and checked
before use: the symbols must exist and the build must use 64-bit integers (``USE64BITINT``, the
"64_" builds), since the integer arguments below are declared int64. ``load_openblas`` gives None
whenever anything differs (another platform, another numpy build, no numpy): callers then take the
numpy path.
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import c_char_p, c_float, c_int, c_int64, c_size_t, c_void_p

TYPE_CHECKING = False  # typing costs ~3 ms to import: a one-off query skips it
if TYPE_CHECKING:
    from typing import Any

# (file name start, symbol prefix, symbol suffix): numpy >= 2 wheels (scipy-openblas64), then numpy 1.x.
_BUILDS = (("libscipy_openblas64_", "scipy_", "64_"), ("libopenblas64_", "", "64_"))
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # CblasRowMajor, CblasNoTrans, CblasTrans
_loaded: list[Any] = []  # [OpenBlas or None] once looked for: one process looks once


class OpenBlas:
    """The single-precision routines a query needs (CBLAS, 0-based isamax)."""

    def __init__(self, path: str, prefix: str, suffix: str) -> None:
        lib = ctypes.CDLL(path)

        def bind(name: str, restype: Any, *argtypes: Any) -> Any:
            fn = getattr(lib, prefix + name + suffix)  # AttributeError when the build lacks it
            fn.restype, fn.argtypes = restype, argtypes
            return fn

        config = bind("openblas_get_config", c_char_p)()
        if b"USE64BITINT" not in (config or b"").split():
            raise OSError(f"{path} is not a 64-bit integer build")
        n = c_int64  # blasint of an ILP64 build
        # y = alpha A x + beta y; A (m, n) with leading dimension lda
        self.sgemv = bind("cblas_sgemv", None, c_int, c_int, n, n, c_float, c_void_p, n, c_void_p, n, c_float, c_void_p, n)
        # C = alpha op(A) op(B) + beta C; C (m, n), op(A) (m, k), op(B) (k, n)
        self.sgemm = bind("cblas_sgemm", None, c_int, c_int, c_int, n, n, n, c_float, c_void_p, n, c_void_p, n, c_float, c_void_p, n)
        self.isamax = bind("cblas_isamax", c_size_t, n, c_void_p, n)  # first index of the largest |x_i|
        self.sasum = bind("cblas_sasum", c_float, n, c_void_p, n)  # sum of |x_i|: NaN or inf when one is
        self.path = path


def find_openblas() -> tuple[str, str, str] | None:
    """(library path, symbol prefix, symbol suffix) of numpy's bundled OpenBLAS, or None."""
    if not sys.platform.startswith("linux"):
        return None  # other wheels bundle it elsewhere (macOS: Accelerate or .dylibs; Windows: DLLs)
    from importlib.util import find_spec

    try:
        spec = find_spec("numpy")  # locates the package without running it
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    libs = os.path.join(os.path.dirname(list(spec.submodule_search_locations)[0]), "numpy.libs")
    try:
        names = sorted(os.listdir(libs))
    except OSError:
        return None
    for start, prefix, suffix in _BUILDS:
        for name in names:
            if name.startswith(start) and ".so" in name:
                return os.path.join(libs, name), prefix, suffix
    return None


def load_openblas() -> OpenBlas | None:
    """numpy's OpenBLAS, bound and checked, or None (looked for once per process)."""
    if not _loaded:
        found = find_openblas()
        try:
            _loaded.append(OpenBlas(*found) if found else None)
        except (OSError, AttributeError):
            _loaded.append(None)
    return _loaded[0]
