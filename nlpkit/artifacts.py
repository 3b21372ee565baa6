"""Model directories ("artefacts"): written atomically, checked on load, never pickled.

Layout of every artefact::

    DIR/config.json          {"kind", "format_version", "nlpkit_version", "created",
                              "model": {...}, "train": {...}, "data": {...}, "files": {name: bytes}}
    DIR/model.safetensors    weights (or vectors.safetensors, model.arpa, ...)
    DIR/tokenizer.json       where the model has a tokenizer

Writing: ``with artifact_writer(out_dir) as tmp:`` gives a fresh hidden directory beside
``out_dir``; the caller writes its files there and calls ``write_config`` last. When the block
ends without an exception the temporary directory is renamed into place, replacing an older
artefact or a resume checkpoint; on an exception it is removed and ``out_dir`` is untouched.

Loading: ``read_config(dir, {"kind": max_format_version})`` refuses a directory that is not an
artefact, a kind the caller cannot load, a newer format version, and missing or truncated files.

Resume checkpoints (``DIR/checkpoint.pt``) hold plain dicts of tensors and numbers written with
``torch.save`` and read back with ``weights_only=True``; they are working files, never shipped.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nlpkit import __version__
from nlpkit.errors import ArtifactError

FORMAT_VERSION = 1
CONFIG = "config.json"
CHECKPOINT = "checkpoint.pt"


def _is_ours(path: Path) -> bool:
    """True for a directory we may replace: empty, an artefact, or a resume checkpoint."""
    if not path.is_dir():
        return False
    names = {p.name for p in path.iterdir()}
    return not names or CONFIG in names or CHECKPOINT in names


@contextmanager
def artifact_writer(out_dir: str | Path) -> Iterator[Path]:
    """Yield a temporary directory; publish it as ``out_dir`` if the block succeeds."""
    out = Path(out_dir)
    if out.exists() and not _is_ours(out):
        kind = "a file" if not out.is_dir() else "a directory that is not an nlpkit model"
        raise ArtifactError(f"{out} exists and is {kind}", "choose a new output directory or remove it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        if not (tmp / CONFIG).exists():
            raise RuntimeError("artifact_writer: write_config() was not called")
        publish(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def publish(tmp: Path, out: Path) -> None:
    """Rename ``tmp`` to ``out``; an existing ``out`` is moved aside first and then removed."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rename(out, old / out.name)
    os.rename(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_config(
    directory: str | Path,
    kind: str,
    *,
    model: Mapping[str, Any],
    train: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    format_version: int = FORMAT_VERSION,
    **extra: Any,
) -> dict[str, Any]:
    """Write ``config.json`` into ``directory``, recording the size of every file already there."""
    directory = Path(directory)
    files = {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.is_file() and p.name != CONFIG}
    config: dict[str, Any] = {
        "kind": kind,
        "format_version": format_version,
        "nlpkit_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": dict(model),
        "train": dict(train or {}),
        "data": dict(data or {}),
        **extra,
        "files": files,
    }
    atomic_write_text(directory / CONFIG, json.dumps(config, indent=2, sort_keys=False) + "\n")
    return config


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a text file through a temporary file and a rename, so a reader never sees half of it."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_config(model_dir: str | Path, kinds: Mapping[str, int] | None = None) -> dict[str, Any]:
    """Read and check ``config.json``; ``kinds`` maps each loadable kind to its newest format."""
    d = Path(model_dir)
    if not d.exists():
        raise ArtifactError(f"model directory {d} does not exist", "train one first or check the path")
    if not d.is_dir():
        raise ArtifactError(f"{d} is not a model directory", "pass the directory a training command wrote")
    path = d / CONFIG
    if not path.exists():
        hint = "the training job did not finish; rerun it with --resume" if (d / CHECKPOINT).exists() else None
        raise ArtifactError(f"{d} is not an nlpkit model (no config.json)", hint or "pass a directory written by nlpkit")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
        kind = config["kind"]
        version = int(config["format_version"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ArtifactError(f"{path} is corrupt (not a valid nlpkit config)", "retrain or restore the model") from None
    if kinds is not None:
        if kind not in kinds:
            wanted = " or ".join(sorted(kinds))
            raise ArtifactError(f"{d} holds a {kind} model, not {wanted}", "pass a model of the right kind")
        if version > kinds[kind]:
            raise ArtifactError(
                f"{d} was written by a newer nlpkit (format {version} > {kinds[kind]})", "upgrade nlpkit to load it"
            )
    for name, size in config.get("files", {}).items():
        f = d / name
        if not f.exists():
            raise ArtifactError(f"{d} is incomplete: {name} is missing", "retrain or restore the model")
        if f.stat().st_size != size:
            raise ArtifactError(f"{d} is corrupt: {name} has the wrong size", "retrain or restore the model")
    return config


def load_numpy_tensors(model_dir: str | Path, name: str) -> dict[str, Any]:
    """Load a safetensors file as numpy arrays (no torch import)."""
    from safetensors.numpy import load_file

    path = Path(model_dir) / name
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises several types for a damaged header
        raise ArtifactError(f"cannot read {path}: {exc}".splitlines()[0], "retrain or restore the model") from None


def load_torch_tensors(model_dir: str | Path, name: str = "model.safetensors", device: str = "cpu") -> dict[str, Any]:
    """Load a safetensors file as torch tensors on ``device``."""
    from safetensors.torch import load_file

    path = Path(model_dir) / name
    try:
        return load_file(str(path), device=str(device))
    except Exception as exc:
        raise ArtifactError(f"cannot read {path}: {exc}".splitlines()[0], "retrain or restore the model") from None


def save_checkpoint(out_dir: str | Path, state: Mapping[str, Any]) -> Path:
    """Atomically write a resume checkpoint (tensors, numbers, strings, lists, dicts) into ``out_dir``."""
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / CHECKPOINT
    fd, tmp = tempfile.mkstemp(prefix=f".{CHECKPOINT}.", dir=out)
    os.close(fd)
    try:
        torch.save(dict(state), tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(out_dir: str | Path) -> dict[str, Any] | None:
    """Read a resume checkpoint written by ``save_checkpoint``; ``None`` when there is none."""
    import torch

    path = Path(out_dir) / CHECKPOINT
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ArtifactError(f"cannot read checkpoint {path}: {exc}".splitlines()[0], "delete it to start over") from None
