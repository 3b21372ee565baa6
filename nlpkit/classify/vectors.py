"""``--vectors DIR``: initialise word embeddings from a ``nlpkit embed train`` model.

The classifier's vocabulary is built from the training text, followed by the vectors' own words
(``build.with_vector_words``); every word of it that the vectors know gets its pre-trained vector (the raw vectors, not the unit-length ones). The other
words (and ``<unk>``) get random vectors with the same per-dimension spread as the pre-trained ones,
as Kim (2014) does: the default N(0, 1) start is far larger than typical word2vec values, and those
rows would otherwise dominate every average. ``<pad>`` stays zero. Lookup goes through
``WordVectors.lookup``, which also tries the lower-cased word for a lower-cased vector model.
With ``--freeze-vectors`` the whole embedding table stays fixed during training.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from nlpkit.classify.vocab import WordVocab

if TYPE_CHECKING:
    from torch import nn

    from nlpkit.embeddings.vectors import WordVectors

log = logging.getLogger("nlpkit")


def load_vectors(path: str | Path) -> WordVectors:
    from nlpkit.embeddings.vectors import WordVectors

    return WordVectors.load(path)


def vector_dim(path: str | Path) -> int:
    return load_vectors(path).dim


def init_embeddings(embed: nn.Embedding, vocab: WordVocab, path: str | Path) -> int:
    """Copy the vectors of known words into ``embed`` (V, D); returns how many words were found."""
    import numpy as np
    import torch

    wv = load_vectors(path)
    rows, found = [], []
    for i, word in enumerate(vocab.tokens[2:], start=2):  # <pad> and <unk> keep their own rows
        j = wv.lookup(word)
        if j is not None:
            rows.append(i)
            found.append(j)
    if found:
        table = torch.from_numpy(wv.raw(found))  # (n, D); subword vectors for words outside a --subwords model
        with torch.no_grad():
            spread = table.std(dim=0) if len(found) > 1 else table.abs().mean(dim=0)  # (D,)
            embed.weight.normal_().mul_(spread.to(embed.weight.device))  # (V, D) rows for unknown words
            embed.weight[0].zero_()  # <pad>
            embed.weight[torch.as_tensor(rows)] = table.to(embed.weight.device)
    share = len(found) / max(1, len(vocab) - 2)
    log.info("--vectors %s: %d of %d vocabulary words found (%.1f%%)", path, len(found), len(vocab) - 2, 100 * share)
    return len(found)
