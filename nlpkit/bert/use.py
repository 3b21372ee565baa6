"""Using a trained BERT: fill in [MASK]s, contextual embeddings per token or per sentence.

Both stream: lines are read, encoded and run through the model ``batch_size`` at a time, and one
record comes out per input line, in input order. Texts longer than the model's positions are cut
(with one warning).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from nlpkit.bert.artifact import special_ids
from nlpkit.bert.model import Bert
from nlpkit.corpus import clip_text
from nlpkit.errors import ConfigError, CorpusError

if TYPE_CHECKING:
    from tokenizers import Encoding, Tokenizer

log = logging.getLogger("nlpkit")
POOLS = ("cls", "mean", "none")


def _encode(tok: Tokenizer, texts: list[str], max_len: int, sep_id: int, cuts: list[int]) -> list[list[int]]:
    """Ids of ``[CLS] text [SEP]`` cut to ``max_len``; ``cuts[0]`` counts the texts that were cut."""
    # Only a prefix can reach the model: encoding a 50 MB line whole would cost gigabytes.
    clipped = [clip_text(t, max_len) for t in texts]
    encoded = [e.ids for e in tok.encode_batch([t for t, _ in clipped])]  # [CLS] text [SEP]
    out = []
    for ids, (_, cut) in zip(encoded, clipped):
        if len(ids) > max_len or cut:
            cuts[0] += 1
            ids = [*ids[: max_len - 1], sep_id]
        out.append(ids)
    return out


def _warn_cuts(cuts: list[int], max_len: int) -> None:
    if cuts[0]:
        log.warning("warning: %d text(s) were cut to the model's %d positions", cuts[0], max_len)


def _batch(ids: list[list[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    T = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), T), pad_id, dtype=torch.long)
    for b, x in enumerate(ids):
        input_ids[b, : len(x)] = torch.tensor(x)
    return input_ids.to(device), (input_ids != pad_id).long().to(device)  # (B, T) ids and attention mask


def _chunks(texts: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(texts)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


NO_MASK = "no [MASK] in the line"


@torch.no_grad()
def fill_mask(model: Bert, tok: Tokenizer, texts: Iterable[str], *, topk: int = 5, batch_size: int = 32) -> Iterator[dict[str, Any]]:
    """Yield ``{"text", "predictions": [{"token", "score"}, ...]}`` per text (score: probability).

    With several [MASK]s in a text, ``predictions`` is a list with one such list per [MASK], in order
    (as the transformers fill-mask pipeline does). A text without [MASK] gives
    ``{"text", "error"}`` and the texts around it are filled as usual.
    """
    if topk < 1:
        raise ConfigError("--top-k must be at least 1")
    ids = special_ids(tok, "the model's tokenizer")
    device = next(model.parameters()).device
    topk = min(topk, model.cfg.vocab_size)
    cuts = [0]
    try:
        yield from _fill_chunks(model, tok, texts, topk, batch_size, ids, device, cuts)
    finally:
        _warn_cuts(cuts, model.cfg.max_position)


@torch.no_grad()
def _fill_chunks(model, tok, texts, topk, batch_size, ids, device, cuts) -> Iterator[dict[str, Any]]:  # noqa: ANN001
    for chunk in _chunks(texts, batch_size):
        encoded = _encode(tok, chunk, model.cfg.max_position, ids.sep, cuts)
        positions = [[i for i, t in enumerate(seq) if t == ids.mask] for seq in encoded]
        good = [b for b, found in enumerate(positions) if found]
        results: dict[int, list] = {}
        if good:
            input_ids, attention = _batch([encoded[b] for b in good], ids.pad, device)
            T = input_ids.shape[1]
            flat = torch.tensor([k * T + p for k, b in enumerate(good) for p in positions[b]], device=device)  # (N,)
            logits, _ = model(input_ids, None, attention, flat)  # (N, V)
            scores, best = logits.float().softmax(-1).topk(topk, dim=-1)  # (N, k)
            scores, best = scores.tolist(), best.tolist()
            n = 0
            for b in good:
                found = positions[b]
                results[b] = [[{"token": tok.id_to_token(i), "score": s} for i, s in zip(best[n + j], scores[n + j])] for j in range(len(found))]
                n += len(found)
        for b, text in enumerate(chunk):
            per_mask = results.get(b)
            if per_mask is None:
                yield {"text": text, "error": NO_MASK}
            else:
                yield {"text": text, "predictions": per_mask[0] if len(per_mask) == 1 else per_mask}


@torch.no_grad()
def embed(
    model: Bert, tok: Tokenizer, texts: Iterable[str], *, pool: str = "mean", layer: int = -1, batch_size: int = 32
) -> Iterator[dict[str, Any]]:
    """Per text: ``{"text", "vector"}`` (pool cls|mean) or ``{"text", "tokens", "vectors"}`` (pool none).

    ``mean`` averages every real position ([CLS] and [SEP] included, as sentence-transformers does);
    ``none`` gives one vector per WordPiece of the text ([CLS]/[SEP] left out). ``layer`` counts
    from the embeddings (0) to the last layer (``layers``, or -1).
    """
    if pool not in POOLS:
        raise ConfigError(f"--pool {pool!r} is not one of {', '.join(POOLS)}")
    n_states = model.cfg.layers + 1
    if not -n_states <= layer < n_states:
        raise ConfigError(f"--layer {layer} is out of range", f"use 0..{model.cfg.layers} or negative counts from the end")
    ids = special_ids(tok, "the model's tokenizer")
    device = next(model.parameters()).device
    cuts = [0]
    try:
        yield from _embed_chunks(model, tok, texts, pool, layer, batch_size, ids, device, cuts)
    finally:
        _warn_cuts(cuts, model.cfg.max_position)


@torch.no_grad()
def _embed_chunks(model, tok, texts, pool, layer, batch_size, ids, device, cuts) -> Iterator[dict[str, Any]]:  # noqa: ANN001
    for chunk in _chunks(texts, batch_size):
        encoded = _encode(tok, chunk, model.cfg.max_position, ids.sep, cuts)
        input_ids, attention = _batch(encoded, ids.pad, device)
        hidden = model.encode(input_ids, None, attention)[layer].float()  # (B, T, C)
        if pool == "cls":
            vectors = hidden[:, 0]  # (B, C)
        elif pool == "mean":
            m = attention.unsqueeze(-1).float()  # (B, T, 1)
            vectors = (hidden * m).sum(1) / m.sum(1)  # (B, C)
        for b, text in enumerate(chunk):
            if pool == "none":
                n = len(encoded[b])
                yield {"text": text, "tokens": [tok.id_to_token(i) for i in encoded[b][1 : n - 1]], "vectors": hidden[b, 1 : n - 1].tolist()}
            else:
                yield {"text": text, "vector": vectors[b].tolist()}


def save_npy(records: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Stack the ``vector`` of every record into an (N, C) float32 ``.npy`` (written via temp + rename)."""
    import os
    import tempfile

    import numpy as np

    from nlpkit.safeio import disk_full_guard, fix_mode

    rows = [np.asarray(r["vector"], dtype=np.float32) for r in records]
    if not rows:
        raise CorpusError("there was no input line to embed", "give some text")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".npy", dir=path.parent)
    try:
        with disk_full_guard(path, sum(r.nbytes for r in rows), cleanup=False), os.fdopen(fd, "wb") as f:
            np.save(f, np.stack(rows))  # (N, C)
        fix_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(rows)
