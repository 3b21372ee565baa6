"""Reading an artefact's ``config.json``: the one check every loader makes, importing little.

One-off queries (``analogy``, ``similar``, a few lines of ``lm score``) read a config before
anything else; this module needs only json and pathlib, where ``nlpkit.artifacts`` (writing,
publishing, checkpoints) brings shutil, tempfile and the compression modules with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

TYPE_CHECKING = False  # typing costs ~3 ms to import: a one-off query skips it
if TYPE_CHECKING:
    from typing import Any

from nlpkit.errors import ArtifactError

CONFIG = "config.json"
CHECKPOINT = "checkpoint.pt"


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
        files = dict(config.get("files", {}))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, AttributeError):
        raise ArtifactError(f"{path} is corrupt (not a valid nlpkit config)", "retrain or restore the model") from None
    if kinds is not None:
        if kind not in kinds:
            wanted = " or ".join(sorted(kinds))
            raise ArtifactError(f"{d} holds a {kind} model, not {wanted}", "pass a model of the right kind")
        if version > kinds[kind]:
            raise ArtifactError(
                f"{d} was written by a newer nlpkit (format {version} > {kinds[kind]})", "upgrade nlpkit to load it"
            )
    for name, size in files.items():
        f = d / name
        if not f.exists():
            raise ArtifactError(f"{d} is incomplete: {name} is missing", "retrain or restore the model")
        if f.stat().st_size != size:
            raise ArtifactError(f"{d} is corrupt: {name} has the wrong size", "retrain or restore the model")
    return config
