import gzip
import itertools
import os
import subprocess
import sys
from collections import Counter

import pytest

from nlpkit.errors import ArtifactError, ConfigError
from nlpkit.tokenize.wordpiece import WordPieceConfig, load_tokenizer, save_tokenizer, train_wordpiece, vocab_lines
from nlpkit.tokenize.wordpiece_train import learn_vocab
from tests.conftest import BERT_VOCAB, CORPORA

WORDS = Counter({"low": 5, "lower": 2, "newest": 6, "widest": 3})
# Worked by hand (see the derivation in wordpiece_train's docstring style): alphabet by count, then
# continuation pieces by count, then merges, most frequent pair first, ties to the smaller strings.
GOLDEN = (
    ["[UNK]", "e", "w", "s", "t", "l", "o", "n", "d", "i", "r"]
    + ["##e", "##w", "##s", "##t", "##o", "##d", "##i", "##r"]
    + ["##es", "##est", "##ow", "low", "##ew", "##ewest", "newest", "##dest", "##idest", "widest", "##er", "lower"]
)


def test_learned_vocabulary_matches_hand_computation():
    assert learn_vocab(WORDS, 1000, min_frequency=1, special_tokens=["[UNK]"]) == GOLDEN


def test_vocab_size_and_min_frequency_stop_merging():
    assert learn_vocab(WORDS, 22, min_frequency=1, special_tokens=["[UNK]"]) == GOLDEN[:22]
    assert learn_vocab(WORDS, 1000, min_frequency=3, special_tokens=["[UNK]"]) == GOLDEN[:-2]


def test_limit_alphabet_drops_rare_characters():
    vocab = learn_vocab(WORDS, 1000, min_frequency=1, limit_alphabet=9, special_tokens=["[UNK]"])
    assert "r" not in vocab and "##r" not in vocab and "lower" not in vocab and "widest" in vocab


def test_trained_tokenizer_encodes_greedily(tmp_path):
    lines = ["low " * 5 + "lower " * 2 + "newest " * 6 + "widest " * 3]
    tok = train_wordpiece(lines, WordPieceConfig(vocab_size=100, min_frequency=1, special_tokens=["[UNK]", "[CLS]", "[SEP]"]))
    assert tok.encode("Lowest newer", add_special_tokens=False).tokens == ["low", "##est", "n", "##ew", "##er"]
    assert tok.encode("low", add_special_tokens=True).tokens == ["[CLS]", "low", "[SEP]"]
    save_tokenizer(tok, tmp_path)
    again = load_tokenizer(tmp_path)
    assert again.encode("Lowest newer").ids == tok.encode("Lowest newer").ids
    assert (tmp_path / "vocab.txt").read_text().split("\n")[:4] == ["[UNK]", "[CLS]", "[SEP]", "e"]


def test_training_is_deterministic_across_processes(tmp_path):
    code = (
        "import sys; from nlpkit.corpus import read_lines; from nlpkit.tokenize.wordpiece import *;"
        "tok = train_wordpiece(read_lines([sys.argv[1]]), WordPieceConfig(vocab_size=800));"
        "print('\\n'.join(vocab_lines(tok)))"
    )
    with gzip.open(CORPORA / "en_prose" / "kjv.txt.gz", "rt", encoding="utf-8") as f:
        head = list(itertools.islice(f, 4000))
    corpus = tmp_path / "kjv_head.txt"
    corpus.write_text("".join(head), encoding="utf-8")
    outs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        outs.append(subprocess.run([sys.executable, "-c", code, corpus], env=env, capture_output=True, text=True, check=True).stdout)
    assert outs[0] == outs[1] and len(outs[0].split()) == 800


def test_bert_vocab_golden_tokens():
    tok = load_tokenizer(BERT_VOCAB)
    # Greedy longest match first: "una" is the longest piece that starts the word, then "##ffa", "##ble".
    assert tok.encode("unaffable", add_special_tokens=False).tokens == ["una", "##ffa", "##ble"]
    assert tok.encode("Hello, World!", add_special_tokens=True).tokens == ["[CLS]", "hello", ",", "world", "!", "[SEP]"]
    assert tok.encode("Héllo naïve 北京").tokens[1:-1] == ["hello", "naive", "北", "京"]
    assert tok.encode("the [MASK] sat").tokens[1:-1] == ["the", "[MASK]", "sat"]


def test_long_words_become_one_unk_and_the_limit_is_an_option():
    word = "a" * 101
    assert load_tokenizer(BERT_VOCAB).encode(f"x {word} y").tokens[1:-1] == ["x", "[UNK]", "y"]
    assert "[UNK]" not in load_tokenizer(BERT_VOCAB, max_word_chars=200).encode(word).tokens
    assert load_tokenizer(BERT_VOCAB, max_word_chars=3).encode("abcd abc").tokens[1:-1] == ["[UNK]", "abc"]


EDGE_CASES = [
    "Héllo naïve café", "北京欢迎你 and 東京", "a\u200bb", "x\u0000y\u0007z", "ﬁne ligature", "İstanbul",
    "ΣΑΣ Σίσυφος", "don't—stop…now", "¿Qué? ¡Sí!", "a" * 150, "e\u0301", "Straße", "\t tab\u00a0nbsp",
    "😀 emoji", "$100.00 & 50%", "ﾊﾝｶｸ Ａｂｃ", "x\ufeffy", "\u2028sep", "", "   ", "[MASK] is [SEP] here",
]


def _real_lines(n_per_file=700):
    for name in ["en_prose/kjv.txt.gz", "en_prose/wordnet_glosses.txt.gz", "sentiment/imdb.train.tsv.gz",
                 "de_en/tatoeba.train.tsv.gz", "ptb/ptb.train.txt.gz"]:
        with gzip.open(CORPORA / name, "rt", encoding="utf-8") as f:
            yield from itertools.islice((line.rstrip("\n") for line in f), n_per_file)


def test_tokens_equal_the_reference_bert_tokenizer():
    transformers = pytest.importorskip("transformers", reason="the reference tokenizer comes with the test extra")
    reference = transformers.BertTokenizer(str(BERT_VOCAB), do_lower_case=True)
    tok = load_tokenizer(BERT_VOCAB)
    lines = list(itertools.chain(_real_lines(), EDGE_CASES))
    ours = [e.tokens for e in tok.encode_batch(lines, add_special_tokens=False)]
    mismatches = [(line, ours[i]) for i, line in enumerate(lines) if ours[i] != reference.tokenize(line)]
    assert len(lines) > 3500 and mismatches == []


def test_decoding_round_trips():
    tok = load_tokenizer(BERT_VOCAB)
    for line in itertools.islice(_real_lines(200), 500):
        ids = tok.encode(line, add_special_tokens=False).ids
        if tok.token_to_id("[UNK]") in ids:
            continue
        text = tok.decode(ids)
        assert tok.encode(text, add_special_tokens=False).ids == ids
    assert tok.decode(tok.encode("the quick brown fox").ids) == "the quick brown fox"


def test_config_and_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="vocab-size"):
        WordPieceConfig(vocab_size=3)
    with pytest.raises(ConfigError, match=r"\[UNK\]"):
        WordPieceConfig(special_tokens=["[PAD]"])
    (tmp_path / "vocab.txt").write_text("a\nb\n")
    with pytest.raises(ArtifactError, match=r"no \[UNK\]"):
        load_tokenizer(tmp_path / "vocab.txt")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "tokenizer.json").write_text('{"version": "1.0", "model": 42}')
    with pytest.raises(ArtifactError, match="not a valid tokenizer"):
        load_tokenizer(tmp_path / "broken")
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(ArtifactError, match="no tokenizer.json or vocab.txt"):
        load_tokenizer(tmp_path / "emptydir")
    assert vocab_lines(load_tokenizer(BERT_VOCAB))[:3] == ["[PAD]", "[unused0]", "[unused1]"]
