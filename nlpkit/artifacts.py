"""Model directories ("artefacts"): written atomically, checked on load, never pickled.

Layout of every artefact::

    DIR/config.json          {"kind", "format_version", "nlpkit_version", "created",
                              "model": {...}, "train": {...}, "data": {...}, "files": {name: bytes}}
    DIR/model.safetensors    weights (or vectors.safetensors, model.arpa, ...)
    DIR/tokenizer.json       where the model has a tokenizer

Writing: ``with artifact_writer(out_dir, kind=..., force=...) as tmp:`` gives a fresh hidden
directory beside ``out_dir``; the caller writes its files there and calls ``write_config`` last.
When the block ends without an exception the files are published into ``out_dir``; on an
exception the temporary directory is removed and ``out_dir`` is untouched.

What may be replaced: a directory is ours only when its ``config.json`` parses and names an
nlpkit kind, or when it holds nothing but our resume checkpoint and temporary files. Anything
else is refused, naming what was found; so is another kind of model, and a finished model of the
same kind unless ``force``. Files the user added to a model directory are kept.

Publishing (``nlpkit.publish``) never leaves a moment without a model: each new file is renamed
over the old one, ``config.json`` last, with a journal that lets the next job undo or complete a
publish that died. Writing into ``-o .`` works.

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
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from nlpkit import __version__
from nlpkit.config_file import CHECKPOINT, CONFIG, read_config  # noqa: F401 - read_config is re-exported
from nlpkit.errors import ArtifactError
from nlpkit.publish import _describe, clean_leftovers, is_temp_name as _is_temp_name, publish, recover  # noqa: F401
from nlpkit.safeio import disk_full_guard, fix_mode, tree_size, write_atomic, write_text_atomic

FORMAT_VERSION = 1
STDIN_SPOOL = "stdin.spool"
KINDS = ("wordpiece", "word_vectors", "ngram_lm", "lm_mix", "neural_lm", "translation", "bert", "classifier", "tagger", "phrases")
# Working files a job leaves in the output directory: a resume checkpoint, its spooled stdin,
# GloVe's co-occurrence buckets.
WORKING = frozenset({CHECKPOINT, STDIN_SPOOL, "cooccurrence"})


def _nlpkit_config(path: Path) -> dict[str, Any] | None:
    """The parsed ``config.json`` when it is an nlpkit one, else None."""
    try:
        config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if isinstance(config, dict) and isinstance(config.get("kind"), str):
        if config["kind"] in KINDS or "nlpkit_version" in config:
            return config
    return None


def check_output(out_dir: str | Path, kind: str | None = None, force: bool = False) -> dict[str, Any] | None:
    """Refuse an output directory we must not write into; return its nlpkit config if it has one.

    Call it before a long job starts so that a refusal comes at once; ``artifact_writer``
    repeats it before publishing.
    """
    out = Path(out_dir)
    if not out.exists():
        return None
    if not out.is_dir():
        raise ArtifactError(f"{out} exists and is a file, not a model directory", "choose a new output directory")
    names = [p.name for p in out.iterdir()]
    config = _nlpkit_config(out) if CONFIG in names else None
    if config is None:
        foreign = [n for n in names if n not in WORKING and not _is_temp_name(n)]
        if not foreign:
            return None
        what = "a config.json that is not an nlpkit model's" if CONFIG in names else "files that are not an nlpkit model"
        raise ArtifactError(
            f"{out} holds {what} ({_describe(foreign)}); refusing to write there",
            "choose a new output directory (nlpkit writes only into its own model directories)",
        )
    found = config["kind"]
    if kind is not None and found != kind:
        raise ArtifactError(f"{out} holds a {found} model, not a {kind} model; refusing to replace it", "choose another output directory")
    if not force:
        raise ArtifactError(
            f"{out} already holds a finished {found} model", "pass --force to replace it (files you added there are kept)"
        )
    return config


@contextmanager
def artifact_writer(out_dir: str | Path, *, kind: str | None = None, force: bool = False) -> Iterator[Path]:
    """Yield a temporary directory; publish it into ``out_dir`` if the block succeeds.

    The output lock is taken here unless this process already holds it (training commands
    take it before they start).
    """
    from nlpkit.locking import holds_lock, output_lock

    out = Path(os.path.abspath(out_dir))  # "-o ." has no name; its temporary directory goes beside it
    check_output(out, kind, force)
    with nullcontext() if holds_lock(out) else output_lock(out):
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
        fix_mode(tmp)
        try:
            with disk_full_guard(out, lambda: max(tree_size(tmp), tree_size(out)), cleanup=False):
                yield tmp
                if not (tmp / CONFIG).exists():
                    raise RuntimeError("artifact_writer: write_config() was not called")
                new_kind = json.loads((tmp / CONFIG).read_text(encoding="utf-8"))["kind"]
                old = check_output(out, kind or new_kind, force)
                for path in tmp.iterdir():
                    fix_mode(path)  # some writers (safetensors) create 0600 files
                publish(tmp, out, _our_files(out, old))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _our_files(out: Path, config: Mapping[str, Any] | None) -> set[str]:
    """Names in ``out`` that an earlier nlpkit job wrote there (so a new artefact may replace them)."""
    if not out.is_dir():
        return set()
    ours = set(WORKING) | {n.name for n in out.iterdir() if _is_temp_name(n.name)}
    if config is not None:
        ours |= {CONFIG, *config.get("files", {})}
    return ours


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
    write_text_atomic(path, text)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def load_numpy_tensors(model_dir: str | Path, name: str) -> dict[str, Any]:
    """Load a safetensors file as numpy arrays (no torch import)."""
    from safetensors.numpy import load_file

    path = Path(model_dir) / name
    try:
        return load_file(str(path))
    except Exception as exc:  # safetensors raises several types for a damaged header
        raise ArtifactError(f"cannot read {path}: {_first_line(exc)}", "retrain or restore the model") from None


def load_torch_tensors(model_dir: str | Path, name: str = "model.safetensors", device: str = "cpu") -> dict[str, Any]:
    """Load a safetensors file as torch tensors on ``device``."""
    from safetensors.torch import load_file

    path = Path(model_dir) / name
    try:
        return load_file(str(path), device=str(device))
    except Exception as exc:
        raise ArtifactError(f"cannot read {path}: {_first_line(exc)}", "retrain or restore the model") from None


def save_checkpoint(out_dir: str | Path, state: Mapping[str, Any]) -> Path:
    """Atomically write a resume checkpoint (tensors, numbers, strings, lists, dicts) into ``out_dir``.

    Written through ``safeio``: a full disk is one clear line and the previous checkpoint stays whole.
    """
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fix_mode(out)
    path = out / CHECKPOINT
    needed = _tensor_bytes(state)
    with disk_full_guard(path, needed, cleanup=False):
        return write_atomic(path, lambda f: torch.save(dict(state), f), needed)


def _tensor_bytes(value: Any) -> int:
    """About how many bytes ``torch.save`` writes for ``value`` (its tensors; the rest is small)."""
    if hasattr(value, "element_size") and hasattr(value, "numel"):
        return int(value.element_size() * value.numel())
    if isinstance(value, Mapping):
        return sum(_tensor_bytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_tensor_bytes(v) for v in value)
    return 0


def load_checkpoint(out_dir: str | Path) -> dict[str, Any] | None:
    """Read a resume checkpoint written by ``save_checkpoint``; ``None`` when there is none."""
    import pickle

    import torch

    path = Path(out_dir) / CHECKPOINT
    if not path.exists():
        return None
    hint = "delete it to start over"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns in several lines about legacy and pickled files
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ArtifactError(f"cannot read checkpoint {path}: it holds pickled Python objects, not plain tensors", hint) from None
    except Exception as exc:
        raise ArtifactError(f"cannot read checkpoint {path}: {_first_line(exc)}", hint) from None
