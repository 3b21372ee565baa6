"""`lm score --context` (document mode): a document scores as its lines joined into one sentence.

Neural models: the stream is ``</s> line1 </s> line2 </s>``, so the records of a two-line document
equal the one line ``line1 </s> line2`` token for token (``</s>`` is the boundary id of a word
vocabulary). N-gram models: the history runs across lines without boundary tokens, so the words
of the document score as in the sentence ``line1 line2``; each line's own ``</s>`` is extra.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nlpkit.lm.score import score_lines

TEXT = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "the mat is red"] * 3
SMALL = dict(d_model=16, d_hidden=16, n_layers=2, n_heads=2, d_ff=32, max_len=32, dropout=0.0, context=3)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def neural_model(tmp: Path, arch: str) -> Path:
    from nlpkit.artifacts import artifact_writer
    from nlpkit.lm.neural import build_model, make_config, save_neural
    from nlpkit.lm.vocab import WordVocab

    vocab = WordVocab.build(TEXT)
    torch.manual_seed(0)
    model = build_model(arch, make_config(arch, {**SMALL, "vocab_size": len(vocab), "eos_id": vocab.eos_id}))
    with artifact_writer(tmp / arch) as d:
        save_neural(d, arch, model, vocab, {}, {})
    return tmp / arch


def ngram_model(tmp: Path, order: int) -> Path:
    from nlpkit.lm.ngram_train import NgramConfig, train_ngram

    corpus = tmp / "train.txt"
    corpus.write_text("".join(line + "\n" for line in TEXT), encoding="utf-8")
    train_ngram([str(corpus)], tmp / "ng", NgramConfig(order=order))
    return tmp / "ng"


def token_scores(model: Path, lines: list[str], context: bool) -> list[list[float]]:
    records = score_lines(model, lines, per_token=True, device="cpu", batch_size=2, context=context)
    return [[t[2] for t in r.per_token] for r in records]  # (token, scored_as, log10 p, n, oov)


def joined_scores(model: Path, line: str) -> list[float]:
    from nlpkit.lm.neural import load_neural
    from nlpkit.lm.neural_score import score_batch

    net, vocab, _ = load_neural(model, torch.device("cpu"))
    return score_batch(net, [vocab.encode(line)], vocab.eos_id, torch.device("cpu"))[0].tolist()


@pytest.mark.parametrize("arch", ["rnn", "gru", "lstm", "nplm", "transformer"])
def test_neural_document_equals_the_lines_joined_by_the_boundary(tmp_path, arch):
    model = neural_model(tmp_path, arch)
    doc = token_scores(model, ["the cat sat", "on a zebra mat"], context=True)
    joined = joined_scores(model, "the cat sat </s> on a zebra mat")  # lm score refuses a literal </s>: score it directly
    assert doc[0] + doc[1] == pytest.approx(joined, abs=1e-5)
    alone = token_scores(model, ["the cat sat", "on a zebra mat"], context=False)
    assert doc[0] == pytest.approx(alone[0], abs=1e-5)  # the first line starts from the initial state
    assert doc[1] != pytest.approx(alone[1], abs=1e-3)  # the second one does not


@pytest.mark.parametrize("arch", ["lstm", "nplm"])
def test_neural_document_does_not_depend_on_how_the_stream_is_cut(tmp_path, arch, monkeypatch):
    import nlpkit.lm.neural_score as ns

    model = neural_model(tmp_path, arch)
    lines = TEXT[:7] + ["", "zebra"]
    whole = token_scores(model, lines, context=True)
    monkeypatch.setattr(ns, "PASS_TOKENS", 5)  # several lines per pass, and lines alone
    cut = token_scores(model, lines, context=True)
    for a, b in zip(whole, cut, strict=True):
        assert a == pytest.approx(b, abs=1e-5)


def test_ngram_document_words_score_as_one_sentence(tmp_path):
    model = ngram_model(tmp_path, order=3)
    lines = ["the cat", "sat", "on the log", "a dog"]  # "sat" is shorter than the history
    doc = token_scores(model, lines, context=True)
    joined = token_scores(model, [" ".join(lines)], context=False)[0]
    words = [lp for line in doc for lp in line[:-1]]  # each line's </s> left out
    assert words == pytest.approx(joined[:-1], abs=1e-9)
    assert doc[-1][-1] == pytest.approx(joined[-1], abs=1e-9)  # the last </s> is the sentence's
    alone = token_scores(model, lines, context=False)
    assert doc[0] == pytest.approx(alone[0], abs=1e-9)
    assert doc[2] != pytest.approx(alone[2], abs=1e-3)


def test_ngram_document_carries_history_across_batches(tmp_path):
    from nlpkit.lm.ngram_model import load_ngram
    from nlpkit.lm.score import ngram_scores

    path = ngram_model(tmp_path, order=4)
    model = load_ngram(path)
    one = [r.log10_prob for r in ngram_scores(model, TEXT, False, None, batch_lines=100, context=True)]
    many = [r.log10_prob for r in ngram_scores(model, TEXT, False, None, batch_lines=3, context=True)]
    assert one == pytest.approx(many, abs=1e-9)


def test_cli_context_flag(cli, tmp_path):
    model = ngram_model(tmp_path, order=3)
    text = "the cat sat\non the mat\n"
    plain = cli(["lm", "score", "-m", model], input=text)
    doc = cli(["lm", "score", "-m", model, "--context"], input=text)
    assert plain.exit_code == 0 and doc.exit_code == 0, doc.output
    plain_rows, doc_rows = plain.stdout.splitlines(), doc.stdout.splitlines()
    assert len(doc_rows) == 2 and plain_rows[0] == doc_rows[0] and plain_rows[1] != doc_rows[1]
