"""Subword vocabularies for translation: nlpkit WordPiece, one joint or one per side.

The special tokens come first so their ids are fixed for every model: ``[PAD]`` 0, ``[UNK]`` 1,
``[BOS]`` 2, ``[EOS]`` 3. Case and accents are kept by default (BLEU is case-sensitive and
German umlauts carry meaning). Decoding joins pieces with WordPiece's decoder, which also removes
the space before punctuation, so the output is detokenised text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nlpkit.corpus import clip_text
from nlpkit.errors import ArtifactError
from nlpkit.tokenize.wordpiece import WordPieceConfig, load_tokenizer, train_wordpiece

if TYPE_CHECKING:
    from tokenizers import Tokenizer

SPECIALS = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
JOINT_FILE = "tokenizer.json"
SRC_FILE = "src_tokenizer.json"
TGT_FILE = "tgt_tokenizer.json"


@dataclass
class Vocabs:
    src: Tokenizer
    tgt: Tokenizer
    joint: bool

    @property
    def src_size(self) -> int:
        return self.src.get_vocab_size(with_added_tokens=True)

    @property
    def tgt_size(self) -> int:
        return self.tgt.get_vocab_size(with_added_tokens=True)


def train_vocabs(
    src_lines: Sequence[str], tgt_lines: Sequence[str], *, vocab_size: int, joint: bool, lowercase: bool, min_frequency: int = 2
) -> Vocabs:
    """Learn WordPiece pieces on the training pairs (both sides together when ``joint``)."""
    config = WordPieceConfig(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        lowercase=lowercase,
        strip_accents=False,
        special_tokens=list(SPECIALS),
    )
    if joint:
        tok = train_wordpiece([*src_lines, *tgt_lines], config)
        return _checked(Vocabs(tok, tok, True))
    return _checked(Vocabs(train_wordpiece(src_lines, config), train_wordpiece(tgt_lines, config), False))


def _checked(vocabs: Vocabs) -> Vocabs:
    for tok in {id(vocabs.src): vocabs.src, id(vocabs.tgt): vocabs.tgt}.values():
        ids = [tok.token_to_id(t) for t in SPECIALS]
        if ids != [PAD_ID, UNK_ID, BOS_ID, EOS_ID]:
            raise ArtifactError(f"tokenizer has special ids {ids}, expected 0-3", "retrain the model")
    return vocabs


def save_vocabs(vocabs: Vocabs, directory: str | Path) -> None:
    directory = Path(directory)
    if vocabs.joint:
        vocabs.src.save(str(directory / JOINT_FILE))
    else:
        vocabs.src.save(str(directory / SRC_FILE))
        vocabs.tgt.save(str(directory / TGT_FILE))


def load_vocabs(directory: str | Path, joint: bool) -> Vocabs:
    directory = Path(directory)
    if joint:
        tok = load_tokenizer(directory / JOINT_FILE)
        return _checked(Vocabs(tok, tok, True))
    return _checked(Vocabs(load_tokenizer(directory / SRC_FILE), load_tokenizer(directory / TGT_FILE), False))


def vocabs_to_strings(vocabs: Vocabs) -> dict[str, object]:
    """For resume checkpoints, which hold only plain data."""
    return {"joint": vocabs.joint, "src": vocabs.src.to_str(), "tgt": vocabs.tgt.to_str()}


def vocabs_from_strings(data: dict[str, object]) -> Vocabs:
    from tokenizers import Tokenizer

    src = Tokenizer.from_str(str(data["src"]))
    tgt = src if data["joint"] else Tokenizer.from_str(str(data["tgt"]))
    return _checked(Vocabs(src, tgt, bool(data["joint"])))


def encode(tok: Tokenizer, lines: Sequence[str], max_len: int | None = None) -> list[list[int]]:
    """Piece ids of each line (no specials), cut to ``max_len`` pieces.

    With ``max_len`` only a prefix of each line is encoded: a 50 MB line would otherwise cost gigabytes.
    """
    if max_len:
        lines = [clip_text(line, max_len)[0] for line in lines]
    encodings = tok.encode_batch(list(lines), add_special_tokens=False)
    return [e.ids[:max_len] if max_len else e.ids for e in encodings]


def decode(tok: Tokenizer, ids: Sequence[int]) -> str:
    return detokenize(tok.decode(list(ids), skip_special_tokens=True))


# The BERT pre-tokenizer splits at every punctuation mark and forgets the spaces, so "don't" comes
# back as "don ' t"; these rules undo the common cases (WordPiece's decoder already handles . , ! ?).
_DETOK = [
    (re.compile(r"(\w) (['’]) (\w)"), r"\1\2\3"),  # don ' t -> don't, Tom ' s -> Tom's
    (re.compile(r"(\d) ([.,:]) (\d)"), r"\1\2\3"),  # 3 . 5 -> 3.5
    (re.compile(r"(\w) ([-/]) (\w)"), r"\1\2\3"),  # E - Mail -> E-Mail
    (re.compile(r" ([;:%)\]}»“])"), r"\1"),
    (re.compile(r"([(\[{«„$]) "), r"\1"),
    (re.compile(r'"\s*([^"]*?)\s*"'), r'"\1"'),  # " Hallo ! " -> "Hallo !"
]


def detokenize(text: str) -> str:
    for pattern, repl in _DETOK:
        text = pattern.sub(repl, text)
    return text


def pieces(tok: Tokenizer, ids: Sequence[int]) -> list[str]:
    return [tok.id_to_token(i) or "[UNK]" for i in ids]
