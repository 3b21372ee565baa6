"""Writing files safely: whole or not at all, with the user's umask, and a clear "disk full".

Every artefact, checkpoint and spill file is written through this module:

- ``write_bytes_atomic(path, data)`` writes a temporary file beside ``path`` with ``os.write``
  and renames it into place, so a reader sees the old file or the new one, never half of one;
- ``disk_full_guard(path, needed)`` turns a full disk (``ENOSPC`` from Python, or the same error
  reported by torch or safetensors as text) into one ``ArtifactError`` line
  "no space left on device writing PATH (needed about N MB)" and removes what was half written;
- ``fix_mode(path)`` gives a file made by ``mkstemp``/``mkdtemp`` (0600/0700) the permissions
  a plain ``open`` would have given it under the user's umask.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from nlpkit.errors import ArtifactError

_CHUNK = 1 << 20
# How torch (C++) and safetensors (Rust) report ENOSPC: they do not raise OSError.
_DISK_FULL_TEXT = ("no space left on device", "os error 28", "error code: 28", "disk quota exceeded")


def current_umask() -> int:
    """The process umask, read without a window where it is changed (Linux), else set and restored."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def fix_mode(path: str | Path) -> None:
    """0666/0777 less the umask, as ``open``/``mkdir`` would have made it (mkstemp/mkdtemp use 0600/0700)."""
    p = Path(path)
    base = 0o777 if p.is_dir() else 0o666
    os.chmod(p, base & ~current_umask())


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(exc, (OSError, RuntimeError, ValueError)) or type(exc).__name__ == "SafetensorError":
        text = str(exc).lower()
        return any(t in text for t in _DISK_FULL_TEXT)
    return False


def disk_full_error(path: str | Path, needed: int | None) -> ArtifactError:
    mb = f" (needed about {max(1, -(-int(needed) // 1_000_000))} MB)" if needed else ""
    return ArtifactError(f"no space left on device writing {path}{mb}", "free some space or choose another output directory")


@contextmanager
def disk_full_guard(path: str | Path, needed: int | Callable[[], int] | None = None, cleanup: bool = True) -> Iterator[None]:
    """Turn a full disk inside the block into one line; remove ``path`` (file or folder) if ``cleanup``."""
    try:
        yield
    except BaseException as exc:
        if not is_disk_full(exc):
            raise
        size = needed() if callable(needed) else needed
        if cleanup:
            _remove(Path(path))
        raise disk_full_error(path, size) from None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class _Writer:
    """A binary file object whose writes are ``os.write`` calls (what torch.save and the tests see)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.written = 0
        self.disk_full = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        view = memoryview(data).cast("B")
        done = 0
        try:
            while done < len(view):
                done += os.write(self.fd, view[done : done + _CHUNK])
        except OSError as exc:
            self.disk_full = is_disk_full(exc)  # torch re-raises it as a RuntimeError
            raise
        self.written += done
        return done

    def flush(self) -> None:
        pass


def write_atomic(path: str | Path, write: Callable[[_Writer], object], needed: int | None = None) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path`` and rename it into place; on any
    failure the old file stays and the temporary file is removed."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-{os.getpid()}-", dir=path.parent)
    writer = _Writer(fd)
    try:
        try:
            write(writer)
            os.fsync(fd)
        except BaseException as exc:
            if writer.disk_full and not is_disk_full(exc):
                raise disk_full_error(path, needed or writer.written) from None
            raise
        finally:
            os.close(fd)
        fix_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_bytes_atomic(path: str | Path, data: bytes | bytearray | memoryview) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename; on any failure the old file stays."""
    with disk_full_guard(path, len(data), cleanup=False):
        return write_atomic(path, lambda f: f.write(data), len(data))


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def tree_size(path: str | Path) -> int:
    """Bytes in the files under ``path`` (0 if it is gone): the size a rewrite will need again."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total
