"""BERT-style WordPiece tokenizers on HuggingFace `tokenizers` (Rust): train, load, save.

The pipeline is BERT's: BertNormalizer (clean control characters, space out CJK characters,
lowercase, strip accents) -> BertPreTokenizer (split on whitespace and punctuation) -> greedy
longest-match-first WordPiece with ``##`` continuation pieces. A word longer than
``max_word_chars`` characters (100, as in BERT) becomes a single ``[UNK]``, exactly as the
reference BasicTokenizer + WordpieceTokenizer do.

A tokenizer is loaded from a directory holding ``tokenizer.json`` (any nlpkit artefact that has
one), from a ``tokenizer.json`` file, or from a BERT ``vocab.txt`` (a file, or a directory that
holds only that), for which the normalisation options are given by the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nlpkit.errors import ArtifactError, ConfigError

log = logging.getLogger("nlpkit")

if TYPE_CHECKING:
    from tokenizers import Tokenizer

KIND = "wordpiece"
FORMAT_VERSION = 1
UNK = "[UNK]"
CLS = "[CLS]"
SEP = "[SEP]"
BERT_SPECIAL_TOKENS = ["[PAD]", UNK, CLS, SEP, "[MASK]"]


@dataclass
class WordPieceConfig:
    vocab_size: int = 30000  # pieces in the vocabulary, special tokens included
    min_frequency: int = 2  # a merge must be seen this often to be learned
    lowercase: bool = True
    strip_accents: bool | None = None  # None: strip when lowercasing, as BERT does
    limit_alphabet: int = 1000  # at most this many single characters are kept
    special_tokens: list[str] = field(default_factory=lambda: list(BERT_SPECIAL_TOKENS))
    max_word_chars: int = 100  # longer words become one [UNK], as in BERT
    seed: int = 0  # recorded; the Rust trainer is deterministic for a given corpus

    def __post_init__(self) -> None:
        if self.vocab_size < len(self.special_tokens) + 1:
            raise ConfigError(f"--vocab-size {self.vocab_size} is too small", "use at least a few hundred")
        if self.min_frequency < 0:
            raise ConfigError("--min-frequency must be 0 or more")
        if self.limit_alphabet < 1:
            raise ConfigError("--limit-alphabet must be at least 1")
        if self.max_word_chars < 1:
            raise ConfigError("--max-word-chars must be at least 1")
        if UNK not in self.special_tokens:
            raise ConfigError(f"--special-tokens must include {UNK}")
        if len(set(self.special_tokens)) != len(self.special_tokens):
            raise ConfigError("--special-tokens has duplicates")


def _pipeline(tok: Tokenizer, lowercase: bool, strip_accents: bool | None) -> None:
    from tokenizers import decoders, normalizers, pre_tokenizers

    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=strip_accents, lowercase=lowercase
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")


def _add_post_processor(tok: Tokenizer) -> None:
    """[CLS] A [SEP] (and [CLS] A [SEP] B [SEP]) when the vocabulary has both tokens."""
    from tokenizers import processors

    cls_id, sep_id = tok.token_to_id(CLS), tok.token_to_id(SEP)
    if cls_id is None or sep_id is None:
        return
    tok.post_processor = processors.TemplateProcessing(
        single=f"{CLS} $A {SEP}",
        pair=f"{CLS} $A {SEP} $B:1 {SEP}:1",
        special_tokens=[(CLS, cls_id), (SEP, sep_id)],
    )


def train_wordpiece(lines: Iterable[str], config: WordPieceConfig) -> Tokenizer:
    """Learn a WordPiece vocabulary from ``lines`` (streamed; memory grows with distinct words only).

    Deterministic: the same corpus and options give the same vocabulary (see wordpiece_train).
    """
    from tokenizers import Tokenizer, models

    from nlpkit.tokenize.wordpiece_train import count_words, learn_vocab

    tok = Tokenizer(models.WordPiece({UNK: 0}, unk_token=UNK))
    _pipeline(tok, config.lowercase, config.strip_accents)
    counts = count_words(lines, tok.normalizer, tok.pre_tokenizer)
    pieces = learn_vocab(
        counts,
        config.vocab_size,
        min_frequency=config.min_frequency,
        limit_alphabet=config.limit_alphabet,
        special_tokens=config.special_tokens,
    )
    return _from_pieces(pieces, config.special_tokens, config.lowercase, config.strip_accents, config.max_word_chars)


def _from_pieces(
    pieces: list[str], specials: Iterable[str], lowercase: bool, strip_accents: bool | None, max_word_chars: int
) -> Tokenizer:
    from tokenizers import AddedToken, Tokenizer, models

    vocab: dict[str, int] = {}
    for i, piece in enumerate(pieces):
        vocab.setdefault(piece, i)
    tok = Tokenizer(models.WordPiece(vocab, unk_token=UNK, max_input_chars_per_word=max_word_chars))
    _pipeline(tok, lowercase, strip_accents)
    # Special tokens written in the text ("[MASK]") are matched as themselves, as BERT's tokenizer does.
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in specials if t in vocab])
    _add_post_processor(tok)
    return tok


def vocab_lines(tok: Tokenizer) -> list[str]:
    """The vocabulary in id order, as BERT's vocab.txt lists it."""
    vocab = tok.get_vocab(with_added_tokens=True)
    by_id = sorted(vocab.items(), key=lambda item: item[1])
    return [token for token, _ in by_id]


def save_tokenizer(tok: Tokenizer, directory: str | Path) -> None:
    """Write ``tokenizer.json`` and a BERT-compatible ``vocab.txt`` into ``directory``."""
    directory = Path(directory)
    tok.save(str(directory / "tokenizer.json"))
    (directory / "vocab.txt").write_text("\n".join(vocab_lines(tok)) + "\n", encoding="utf-8")


def tokenizer_from_vocab(
    vocab_path: str | Path, *, lowercase: bool = True, strip_accents: bool | None = None, max_word_chars: int = 100
) -> Tokenizer:
    """Build BERT's tokenizer from a ``vocab.txt`` (one piece per line, the line number is the id)."""
    path = Path(vocab_path)
    try:
        # split("\n"), not splitlines(): a piece may be a character that splitlines treats as a break.
        tokens = [t.rstrip("\r") for t in path.read_text(encoding="utf-8").split("\n")]
    except UnicodeDecodeError:
        raise ArtifactError(f"{path} is not a UTF-8 vocabulary file") from None
    while tokens and not tokens[-1].strip():
        tokens.pop()
    if not tokens:
        raise ArtifactError(f"{path} is an empty vocabulary", "pass a BERT vocab.txt or a tokenizer directory")
    if UNK not in tokens:
        raise ArtifactError(f"{path} has no {UNK} token", "pass a BERT-style vocab.txt")
    tokens = _repair_duplicates(tokens, path)
    specials = [t for t in BERT_SPECIAL_TOKENS if t in tokens]
    return _from_pieces(tokens, specials, lowercase, strip_accents, max_word_chars)


def _repair_duplicates(tokens: list[str], path: Path) -> list[str]:
    """A piece listed twice keeps its last line (as transformers reads vocab.txt); the other lines
    become unused placeholders, so every line number still is the id the model was trained with."""
    last = {t: i for i, t in enumerate(tokens)}
    if len(last) == len(tokens):
        return tokens
    dups = [i for i, t in enumerate(tokens) if last[t] != i]
    first = dups[0]
    log.warning(
        "warning: %s lists %d piece(s) twice (first %r at lines %d and %d); using the last line of each, as transformers does",
        path, len(dups), tokens[first], first + 1, last[tokens[first]] + 1,
    )
    fixed = list(tokens)
    for i in dups:
        fixed[i] = f"[nlpkit-duplicate-{i}]"
    return fixed


def _check_directory_config(directory: Path) -> None:
    """A tokenizer directory with an nlpkit ``config.json`` must be one this version can read."""
    import json

    from nlpkit.artifacts import KINDS

    path = directory / "config.json"
    if not path.exists():
        return
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        raise ArtifactError(f"{path} is corrupt (not valid JSON)", "retrain or restore the model") from None
    if not isinstance(config, dict) or "kind" not in config:
        return  # a HuggingFace model directory: its config.json is not ours to judge
    if config["kind"] not in KINDS:
        raise ArtifactError(f"{directory} holds an unknown kind of model ({config['kind']!r})", "pass a tokenizer or model directory written by nlpkit")
    try:
        version = int(config.get("format_version", 1))
    except (TypeError, ValueError):
        raise ArtifactError(f"{path} is corrupt (bad format_version)", "retrain or restore the model") from None
    if version > FORMAT_VERSION:
        raise ArtifactError(f"{directory} was written by a newer nlpkit (format {version} > {FORMAT_VERSION})", "upgrade nlpkit to load it")


def load_tokenizer(
    model: str | Path,
    *,
    lowercase: bool | None = None,
    strip_accents: bool | None = None,
    max_word_chars: int | None = None,
) -> Tokenizer:
    """Load from a directory with ``tokenizer.json`` or ``vocab.txt``, or from either file.

    ``lowercase``/``strip_accents`` apply to a plain ``vocab.txt`` (default: lowercase, as for
    bert-base-uncased); a ``tokenizer.json`` carries its own normalisation.
    ``max_word_chars`` overrides the long-word limit in both cases.
    """
    path = Path(model)
    if not path.exists():
        raise ArtifactError(f"tokenizer {path} does not exist", "train one with `nlpkit tokenize train` or pass a vocab.txt")
    if path.is_dir():
        _check_directory_config(path)
        if (path / "tokenizer.json").exists():
            path = path / "tokenizer.json"
        elif (path / "vocab.txt").exists():
            path = path / "vocab.txt"
        else:
            raise ArtifactError(f"{path} has no tokenizer.json or vocab.txt", "pass a directory from `nlpkit tokenize train`")
    if path.suffix == ".json":
        tok = _from_json(path)
        if max_word_chars is not None:
            _set_max_word_chars(tok, max_word_chars)
        return tok
    return tokenizer_from_vocab(
        path,
        lowercase=True if lowercase is None else lowercase,
        strip_accents=strip_accents,
        max_word_chars=100 if max_word_chars is None else max_word_chars,
    )


def _from_json(path: Path) -> Tokenizer:
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # the Rust loader raises a bare Exception with a serde message
        raise ArtifactError(f"{path} is not a valid tokenizer file ({exc})".splitlines()[0], "retrain the tokenizer") from None


def _set_max_word_chars(tok: Tokenizer, max_word_chars: int) -> None:
    from tokenizers import models

    model = tok.model
    if isinstance(model, models.WordPiece):
        model.max_input_chars_per_word = max_word_chars


def describe(config: WordPieceConfig) -> dict[str, object]:
    return asdict(config)
