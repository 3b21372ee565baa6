"""Neural LMs: sentence-level batches and loss (= lm score), overfitting, batch-independent scores, save/load."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from nlpkit.lm.neural import ARCHS, build_model, load_neural, make_config, save_neural
from nlpkit.lm.neural_score import neural_scores, score_batch
from nlpkit.lm.train import IGNORE, collate, corpus_nll, encode_sentences, sentence_batches, sentence_loss
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


def test_collate_starts_each_sentence_after_eos_and_ignores_padding():
    inp, tgt = collate([[5, 6], [7], []], 1, torch.device("cpu"))
    assert inp.tolist() == [[1, 5, 6], [1, 7, 1], [1, 1, 1]]
    assert tgt.tolist() == [[5, 6, 1], [7, 1, IGNORE], [1, IGNORE, IGNORE]]


def test_sentence_batches_cover_every_sentence_once_and_repeat_per_seed():
    lengths = [i % 9 for i in range(57)]
    batches = sentence_batches(lengths, 5, seed=2, epoch=1)
    assert sorted(i for b in batches for i in b) == list(range(57))
    assert sentence_batches(lengths, 5, seed=2, epoch=1) == batches != sentence_batches(lengths, 5, seed=2, epoch=2)


@pytest.mark.parametrize("arch", ["lstm", "transformer", "nplm"])
def test_tiny_model_overfits_tiny_corpus(arch):
    vocab = WordVocab.build(TINY)
    seqs = encode_sentences(TINY, vocab)
    model = _model(arch, len(vocab))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    cpu = torch.device("cpu")
    start = corpus_nll(model.eval(), seqs, vocab.eos_id, cpu, 4)
    model.train()
    for epoch in range(30):
        for idx in sentence_batches([len(q) for q in seqs], 4, 0, epoch):
            loss = sentence_loss(model, [seqs[i] for i in idx], vocab.eos_id, cpu)
            opt.zero_grad()
            loss.backward()
            opt.step()
    end = corpus_nll(model.eval(), seqs, vocab.eos_id, cpu, 4)
    assert start > math.log(len(vocab)) * 0.8
    assert math.exp(end) < 2.2, math.exp(end)  # nearly deterministic given the history (the first words are not)


@pytest.mark.parametrize("arch", ARCHS)
def test_training_loss_is_what_lm_score_reports(tmp_path, arch):
    """Training is sentence-level, from the initial state, like scoring: the summed training loss
    of some sentences (eval mode) equals minus their summed `lm score` log-probabilities."""
    out = _save(tmp_path, arch)
    model, vocab, _ = load_neural(out, torch.device("cpu"))
    lines = ["the cat sat on the log", "a dog", "zebra and the red mat is the cat sat on the mat"]
    with torch.no_grad():
        loss = float(sentence_loss(model, encode_sentences(lines, vocab), vocab.eos_id, torch.device("cpu"), reduction="sum"))
    scored = sum(r.log10_prob for r in neural_scores(out, lines, device="cpu", batch_size=2))
    assert loss == pytest.approx(-scored * math.log(10), rel=1e-5)


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


def _add_tensor(model_dir: Path, name: str) -> None:
    """Write model.safetensors with one more tensor (and the size config.json checks)."""
    import json

    from safetensors.torch import load_file, save_file

    path = model_dir / "model.safetensors"
    save_file({**load_file(str(path)), name: torch.zeros(2)}, str(path), metadata={"format": "pt"})
    config = json.loads((model_dir / "config.json").read_text())
    config["files"]["model.safetensors"] = path.stat().st_size
    (model_dir / "config.json").write_text(json.dumps(config))


def test_loading_refuses_weights_that_do_not_match_the_config(tmp_path):
    from nlpkit.errors import ArtifactError

    out = _save(tmp_path, "lstm")
    _add_tensor(out, "stray.weight")
    with pytest.raises(ArtifactError, match="do not match"):
        load_neural(out, torch.device("cpu"))
