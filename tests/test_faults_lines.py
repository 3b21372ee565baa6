"""Issue 16, points 4 and 7: a 50 MB line in bounded memory, per-line answers, the lock before torch."""

from __future__ import annotations

import os
import random
import select
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import nlpkit.tokenize_stream as ts
from nlpkit.corpus import clip_text, windows

ROOT = Path(__file__).resolve().parent.parent
PTB = ROOT / "corpora" / "ptb" / "ptb.valid.txt.gz"
BERT_VOCAB = ROOT / "corpora" / "bert_vocab" / "vocab.txt"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
WORDS = "the cat sat on a mat , while dogs barked at the moon . unbelievable pieces of text".split()


def _line(words: int, seed: int = 0) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words))


def test_windows_cut_at_whitespace_and_cover_the_text():
    text = _line(2000)
    parts = list(windows(text, 100))
    assert "".join(p for _, p in parts) == text
    assert all(p.endswith(" ") for _, p in parts[:-1]) and all(len(p) <= 100 for _, p in parts)
    assert [o for o, _ in parts] == [sum(len(p) for _, p in parts[:i]) for i in range(len(parts))]
    assert [p for _, p in windows("x" * 250, 100)] == ["x" * 100, "x" * 100, "x" * 50]
    assert [p for _, p in windows("x" * 250 + " y", 100, split_words=False)] == ["x" * 250 + " ", "y"]


def test_clip_text_keeps_a_prefix_of_whole_words():
    text = _line(100_000)
    clipped, cut = clip_text(text, 512)
    assert cut and text.startswith(clipped) and clipped.endswith(" ") and 4096 <= len(clipped) <= 512 * 32
    assert clip_text("short text", 512) == ("short text", False)


@pytest.mark.parametrize("fmt", ["tokens", "ids", "jsonl"])
@pytest.mark.parametrize("special", [False, True])
def test_a_long_line_is_encoded_in_windows_with_the_same_result(monkeypatch, fmt, special):
    from nlpkit.wordpiece import load_tokenizer

    tok = load_tokenizer(BERT_VOCAB)
    lines = ["a short line", _line(3000, seed=1), "", "end"]
    opts = ts.EncodeOptions(format=fmt, add_special_tokens=special)
    whole = "".join(ts.encode_lines(tok, lines, opts))
    monkeypatch.setattr(ts, "LONG_LINE", 1000)
    monkeypatch.setattr(ts, "WINDOW", 257)
    assert "".join(ts.encode_lines(tok, lines, opts)) == whole


def test_a_long_line_is_scored_in_windows_with_the_same_result(tmp_path, monkeypatch):
    from nlpkit.lm import score
    from nlpkit.lm.ngram_train import NgramConfig, load_ngram, train_ngram

    train_ngram([str(PTB)], tmp_path / "m", NgramConfig(order=3))
    model = load_ngram(tmp_path / "m")
    lines = ["the cat sat", _line(4000, seed=2) + " zzzunseen", "a dog"]
    whole = list(score.ngram_scores(model, lines, False, score.Summary()))
    monkeypatch.setattr(score, "LONG_LINE", 500)
    summary = score.Summary()
    windowed = list(score.ngram_scores(model, lines, False, summary))
    assert [(r.n_tokens, r.n_oov) for r in windowed] == [(r.n_tokens, r.n_oov) for r in whole]
    assert [r.log10_prob for r in windowed] == pytest.approx([r.log10_prob for r in whole], rel=1e-6)
    assert summary.n_tokens == sum(r.n_tokens for r in whole)


def _peak_rss_mb(args: list[str], stdin_path: Path) -> tuple[int, float, str]:
    """Run ``nlpkit ARGS < stdin_path`` in a child; its exit code, peak RSS (MB) and stderr."""
    code = textwrap.dedent(f"""
        import resource, subprocess, sys
        with open({str(stdin_path)!r}, "rb") as f:
            p = subprocess.run([sys.executable, "-m", "nlpkit_cli", *{args!r}], stdin=f, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
        print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
        sys.stderr.write(p.stderr.decode(errors="replace"))
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    rc, mb = proc.stdout.split()
    return int(rc), float(mb), proc.stderr


@pytest.fixture(scope="module")
def huge_line(tmp_path_factory) -> Path:
    """One 50 MB line without a newline, as in the fault sweep."""
    path = tmp_path_factory.mktemp("huge") / "line.txt"
    block = (_line(20_000, seed=3) + " ").encode()
    with open(path, "wb") as f:
        for _ in range(50_000_000 // len(block) + 1):
            f.write(block)
    return path


@pytest.mark.slow
def test_tokenize_a_50mb_line_in_bounded_memory(huge_line):
    rc, mb, err = _peak_rss_mb(["tokenize", "-m", str(BERT_VOCAB), "--format", "ids"], huge_line)
    assert rc == 0, err
    assert mb < 1024, mb


@pytest.mark.slow
def test_ngram_lm_score_a_50mb_line_in_bounded_memory(huge_line, tmp_path):
    from nlpkit.lm.ngram_train import NgramConfig, train_ngram

    train_ngram([str(PTB)], tmp_path / "m", NgramConfig(order=3))
    rc, mb, err = _peak_rss_mb(["lm", "score", "-m", str(tmp_path / "m")], huge_line)
    assert rc == 0, err
    assert mb < 1024, mb


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    import torch

    from nlpkit.bert.artifact import save_bert
    from nlpkit.bert.model import Bert, BertConfig
    from nlpkit.wordpiece import load_tokenizer

    torch.manual_seed(0)
    tok = load_tokenizer(BERT_VOCAB)
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden=16, layers=1, heads=2, intermediate=32, max_position=64, pad_id=0)
    out = tmp_path_factory.mktemp("bert") / "encoder"
    save_bert(out, Bert(cfg), tok)
    return out


@pytest.mark.slow
def test_bert_embed_a_50mb_line_in_bounded_memory(huge_line, tiny_bert):
    rc, mb, err = _peak_rss_mb(["bert", "embed", "-m", str(tiny_bert), "--pool", "mean"], huge_line)
    assert rc == 0, err
    assert mb < 1024, mb
    assert "1 text(s) were cut to the model's 64 positions" in err


def test_bert_embed_line_buffered_answers_each_line_as_it_arrives(tiny_bert):
    proc = subprocess.Popen([sys.executable, "-m", "nlpkit_cli", "bert", "embed", "-m", str(tiny_bert), "--line-buffered", "--device", "cpu"],
                            cwd=ROOT, env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        answers = []
        for text in (b"the first line\n", b"and a second one\n"):
            proc.stdin.write(text)
            proc.stdin.flush()  # stdin stays open: a batching reader would wait for 32 lines
            ready, _, _ = select.select([proc.stdout], [], [], 120)
            assert ready, "no answer while stdin is still open"
            answers.append(proc.stdout.readline())
        assert [a.startswith(b'{"text": "the first') for a in answers] == [True, False]
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


LOCKED_BEFORE_TORCH = """
import atexit, sys
atexit.register(lambda: sys.stderr.write(f"torch imported: {'torch' in sys.modules}\\n"))
sys.argv = ["nlpkit", "lm", "train", sys.argv[1], "-o", sys.argv[2], "--arch", "lstm", "--quiet"]
from nlpkit_cli.app import main
main()
"""


def test_a_second_job_is_refused_before_torch_is_imported(tmp_path):
    from nlpkit.locking import output_lock

    with output_lock(tmp_path / "out"):
        proc = subprocess.run([sys.executable, "-c", LOCKED_BEFORE_TORCH, str(PTB), str(tmp_path / "out")], cwd=ROOT, env=ENV,
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "in use by another job" in proc.stderr and "torch imported: False" in proc.stderr


def test_split_long_lines_keeps_every_word():
    from nlpkit.corpus import split_long_lines

    text = _line(5000, seed=4)
    out = list(split_long_lines(["short", text, ""], limit=1000, size=300))
    assert out[0] == "short" and out[-1] == "" and len(out) > 10
    assert " ".join(out[1:-1]).split() == text.split()


@pytest.mark.slow
def test_tokenize_train_on_a_50mb_line_in_bounded_memory(huge_line, tmp_path):
    rc, mb, err = _peak_rss_mb(["tokenize", "train", "-", "-o", str(tmp_path / "tok"), "--vocab-size", "200", "--quiet"], huge_line)
    assert rc == 0, err
    assert mb < 1024, mb


@pytest.mark.parametrize(
    ("arch", "config"),
    [
        ("lstm", {"cell": "lstm", "d_model": 8, "d_hidden": 8, "n_layers": 1, "dropout": 0.0}),
        ("nplm", {"context": 3, "d_model": 8, "d_hidden": 8, "dropout": 0.0}),
        ("transformer", {"d_model": 8, "n_layers": 1, "n_heads": 2, "d_ff": 16, "max_len": 16, "dropout": 0.0}),
    ],
)
def test_a_long_line_through_a_neural_lm_scores_as_a_whole(arch, config):
    import torch

    from nlpkit.lm.long_lines import neural_long_line
    from nlpkit.lm.neural import build_model, config_class
    from nlpkit.lm.neural_score import score_batch
    from nlpkit.lm.vocab import WordVocab

    torch.manual_seed(0)
    vocab = WordVocab(["<unk>", "</s>", *WORDS[:10]])
    model = build_model(arch, config_class(arch)(vocab_size=len(vocab), **config)).eval()
    line = _line(700, seed=5) + " zzzunseen"
    whole = score_batch(model, [vocab.encode(line)], vocab.eos_id, torch.device("cpu"))[0]
    logp, tokens, oov, oov_logp = neural_long_line(model, vocab, line, torch.device("cpu"), window=101)
    assert tokens == len(line.split()) + 1
    assert oov == sum(i == vocab.unk_id for i in vocab.encode(line)) and oov > 1
    assert logp == pytest.approx(float(whole.sum()), rel=1e-5)


@pytest.mark.slow
def test_lstm_lm_score_a_50mb_line_in_bounded_memory(huge_line, tmp_path):
    import torch

    from nlpkit.artifacts import artifact_writer
    from nlpkit.lm.neural import build_model, config_class, save_neural
    from nlpkit.lm.vocab import WordVocab

    torch.manual_seed(0)
    vocab = WordVocab(["<unk>", "</s>", *WORDS])
    model = build_model("lstm", config_class("lstm")(cell="lstm", vocab_size=len(vocab), d_model=16, d_hidden=16, n_layers=1))
    with artifact_writer(tmp_path / "lstm") as tmp:
        save_neural(tmp, "lstm", model, vocab, {}, {})
    rc, mb, err = _peak_rss_mb(["lm", "score", "-m", str(tmp_path / "lstm"), "--device", "cpu"], huge_line)
    assert rc == 0, err
    assert mb < 1024, mb


def test_bert_counts_the_texts_it_cuts_in_one_warning(tiny_bert, caplog):
    from nlpkit.bert.artifact import load_bert
    from nlpkit.bert.use import embed, fill_mask

    model, tok, _ = load_bert(tiny_bert)
    texts = ["short", _line(200, seed=6), "also short", _line(100_000, seed=7)]
    assert len(list(embed(model, tok, texts, batch_size=2))) == 4
    assert len(list(fill_mask(model, tok, ["[MASK] " + t for t in texts], batch_size=3))) == 4
    warnings = [r.getMessage() for r in caplog.records if "cut" in r.getMessage()]
    assert warnings == ["warning: 2 text(s) were cut to the model's 64 positions"] * 2


def test_truncate_pair_draws_as_before_and_is_linear():
    from nlpkit.bert.data import truncate_pair

    def reference(a, b, max_tokens, rng):  # the token-by-token original
        while len(a) + len(b) > max_tokens:
            longer = a if len(a) > len(b) else b
            if rng.random() < 0.5:
                del longer[0]
            else:
                longer.pop()

    for seed in range(200):
        r = random.Random(seed)
        a, b, m = list(range(r.randint(0, 60))), list(range(100, 100 + r.randint(0, 60))), r.randint(1, 70)
        a2, b2 = list(a), list(b)
        r1, r2 = random.Random(seed), random.Random(seed)
        reference(a, b, m, r1)
        truncate_pair(a2, b2, m, r2)
        assert (a2, b2) == (a, b) and r1.random() == r2.random()
    huge = list(range(2_000_000))  # one 2M-token segment: quadratic trimming would take minutes
    truncate_pair(huge, [], 29, random.Random(0))
    assert len(huge) == 29
