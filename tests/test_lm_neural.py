"""Neural LMs: truncated BPTT, overfitting, batch-independent scores, save/load, resume."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from nlpkit.lm.neural import ARCHS, build_model, load_neural, make_config, save_neural
from nlpkit.lm.neural_score import neural_scores, score_batch
from nlpkit.lm.train import TrainConfig, batchify, detach_state, evaluate, segments, train_step
from nlpkit.lm.vocab import WordVocab

TINY = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "the mat is red"] * 3


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: one thread avoids spinning on a shared 2-core machine (10x faster here)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


SMALL = dict(d_model=16, d_hidden=16, n_layers=2, n_heads=2, d_ff=32, max_len=16, dropout=0.0, context=3)


def _model(arch: str, vocab_size: int = 20):
    torch.manual_seed(0)
    return build_model(arch, make_config(arch, {**SMALL, "vocab_size": vocab_size, "eos_id": 1}))


@pytest.mark.parametrize("arch", ["rnn", "lstm", "nplm"])
def test_bptt_state_is_carried_and_detached(arch):
    model = _model(arch).eval()
    data = torch.randint(0, 20, (3, 21))  # (B, N)
    cfg = TrainConfig(optimizer="sgd", lr=1e-30, clip=0.0)  # a step that does not move the weights
    opt = torch.optim.SGD(model.parameters(), lr=1e-30)
    state = model.init_state(3, torch.device("cpu"))
    for _, x, y in segments(data, 7):
        _, state = train_step(model, opt, x, y, state, cfg)  # backward would fail on a non-detached graph
    with torch.no_grad():
        _, whole = model(data[:, :20], model.init_state(3, torch.device("cpu")))
    flat = lambda s: torch.cat([t.flatten().float() for t in (s if isinstance(s, tuple) else (s,))])  # noqa: E731
    assert torch.allclose(flat(state), flat(whole), atol=1e-5)  # carried across segments
    cut = detach_state(state)
    for t in cut if isinstance(cut, tuple) else (cut,):
        assert t.grad_fn is None and not t.requires_grad
    if arch != "nplm":  # nplm's state is token ids, never part of a graph
        logits, live = model(data[:, :5], state)
        assert (live[0] if isinstance(live, tuple) else live).grad_fn is not None


def test_segments_shift_targets_by_one():
    data = torch.arange(20).view(2, 10)
    pairs = list(segments(data, 4))
    assert [i for i, _, _ in pairs] == [0, 4, 8]
    _, x, y = pairs[-1]
    assert x.tolist() == [[8], [18]] and y.tolist() == [[9], [19]]
    assert batchify(torch.arange(11), 2).tolist() == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


@pytest.mark.parametrize("arch", ["lstm", "transformer", "nplm"])
def test_tiny_model_overfits_tiny_corpus(arch):
    vocab = WordVocab.build(TINY)
    from nlpkit.lm.neural_train import token_stream

    data = batchify(token_stream(TINY, vocab), 2)
    model = _model(arch, len(vocab))
    cfg = TrainConfig(lr=0.02, clip=1.0, bptt=12)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    start = evaluate(model, data, cfg.bptt)
    for _ in range(40):
        state = model.init_state(2, torch.device("cpu"))
        for _, x, y in segments(data, cfg.bptt):
            _, state = train_step(model, opt, x, y, state, cfg)
    end = evaluate(model, data, cfg.bptt)
    assert start > math.log(len(vocab)) * 0.8
    assert math.exp(end) < 2.0, math.exp(end)  # the corpus is nearly deterministic given its history


@pytest.mark.parametrize("arch", ARCHS)
def test_a_sentence_scores_the_same_alone_and_in_a_batch(arch):
    model = _model(arch).eval()
    seqs = [[5, 6, 7], [3, 4, 5, 6, 7, 8, 9, 10, 11], [], [9, 9], [2, 3, 4, 5, 6]]
    together = score_batch(model, seqs, 1, torch.device("cpu"))
    for seq, lp in zip(seqs, together):
        alone = score_batch(model, [seq], 1, torch.device("cpu"))[0]
        assert len(lp) == len(seq) + 1
        assert torch.allclose(lp, alone, atol=1e-5), (arch, seq)


def _save(tmp: Path, arch: str) -> Path:
    vocab = WordVocab.build(TINY)
    model = _model(arch, len(vocab))
    from nlpkit.artifacts import artifact_writer

    with artifact_writer(tmp / arch) as d:
        save_neural(d, arch, model, vocab, {}, {})
    return tmp / arch


@pytest.mark.parametrize("arch", ["gru", "transformer"])
def test_save_load_round_trip_and_score_schema(tmp_path, arch):
    out = _save(tmp_path, arch)
    model, vocab, config = load_neural(out, torch.device("cpu"))
    assert config["arch"] == arch and model.out.weight is model.embed.weight  # tied after loading
    again = _model(arch, len(vocab)).eval()
    x = torch.tensor([[1, 5, 6]])
    assert torch.equal(model(x, model.init_state(1, "cpu"))[0], again(x, again.init_state(1, "cpu"))[0])
    lines = ["the cat sat", "", "zebra the"]
    records = list(neural_scores(out, lines, per_token=True, device="cpu", batch_size=2))
    assert [r.n_tokens for r in records] == [4, 1, 3]
    assert [r.n_oov for r in records] == [0, 0, 1]
    assert [r.text for r in records] == lines
    assert records[0].per_token[-1][0] == "</s>"
    assert records[2].per_token[0][:2] == ("zebra", "<unk>") and records[2].per_token[0][4] is True
    assert records[0].ppl == pytest.approx(10 ** (-records[0].log10_prob / 4))
