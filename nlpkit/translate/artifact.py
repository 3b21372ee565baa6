"""Translation artefacts: ``save_translation`` publishes one, ``load_translator`` (in ``model``) loads it strictly.

Layout (``kind`` "translation")::

    DIR/config.json        model (arch + every hyperparameter), train settings and results, history, data
    DIR/model.safetensors  weights (save_model: tied embeddings are stored once; loaded with strict=True)
    DIR/tokenizer.json     joint vocabulary, or src_tokenizer.json + tgt_tokenizer.json
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from nlpkit.artifacts import artifact_writer, write_config
from nlpkit.translate.model import FORMAT_VERSION, KIND, load_translator, save_weights
from nlpkit.translate.vocab import Vocabs, save_vocabs

__all__ = ["load_translator", "save_translation"]


def save_translation(output: str | Path, model: Any, vocabs: Vocabs, model_cfg: Any, *, train: dict[str, Any],
                     data: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """Write the artefact atomically, replacing ``output`` (and a resume checkpoint in it); returns config.json."""
    with artifact_writer(output, kind=KIND, force=True) as tmp:
        save_weights(model, tmp)
        save_vocabs(vocabs, tmp)
        return write_config(tmp, KIND, model=asdict(model_cfg), train=train, data=data, history=history,
                            format_version=FORMAT_VERSION)
