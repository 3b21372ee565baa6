"""The recurrent LMs' adaptive softmax: the default for large vocabularies, scored exactly as trained."""

from __future__ import annotations

import math

import pytest
import torch

from nlpkit.artifacts import artifact_writer
from nlpkit.errors import ConfigError
from nlpkit.lm.neural import build_model, load_neural, make_config, save_neural
from nlpkit.lm.neural_score import neural_scores, score_batch
from nlpkit.lm.rnn import RnnConfig, adaptive_cutoffs
from nlpkit.lm.train import encode_sentences, sentence_loss
from nlpkit.lm.vocab import WordVocab

SMALL = dict(d_model=16, d_hidden=24, n_layers=2, dropout=0.0)
LINES = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "the mat is red"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _adaptive(vocab_size: int = 30):
    torch.manual_seed(0)
    return build_model("lstm", make_config("lstm", {**SMALL, "adaptive_softmax": True, "vocab_size": vocab_size, "eos_id": 1}))


def test_defaults_adaptive_from_2000_words_else_tied_full_softmax():
    big, small = RnnConfig(vocab_size=10000), RnnConfig(vocab_size=1999)
    assert (big.adaptive_softmax, big.tie_weights) == (True, False)
    assert (small.adaptive_softmax, small.tie_weights) == (False, True)
    assert RnnConfig(vocab_size=10000, tie_weights=True).adaptive_softmax is False  # asking to tie keeps the full softmax
    assert adaptive_cutoffs(10000) == [2000, 6000] and adaptive_cutoffs(4) == [1, 2]
    with pytest.raises(ConfigError, match="--tie-weights needs a full softmax"):
        RnnConfig(vocab_size=10000, tie_weights=True, adaptive_softmax=True)
    with pytest.raises(ConfigError, match="--adaptive-softmax needs a vocabulary of 4"):
        RnnConfig(vocab_size=3, adaptive_softmax=True)


def test_log_probabilities_sum_to_one_and_the_loss_path_agrees():
    model = _adaptive().eval()
    x = torch.tensor([[1, 5, 6, 29], [1, 2, 3, 1]])
    with torch.no_grad():
        logp, _ = model(x, model.init_state(2, "cpu"))  # (2, 4, 30)
    assert torch.allclose(logp.exp().sum(-1), torch.ones(2, 4), atol=1e-5)
    tgt = torch.tensor([[5, 6, 29, 1], [2, 3, 1, -100]])
    with torch.no_grad():
        total, _ = model(x, model.init_state(2, "cpu"), tgt)
    by_hand = -sum(float(logp[b, t, tgt[b, t]]) for b in range(2) for t in range(4) if tgt[b, t] >= 0)
    assert float(total) == pytest.approx(by_hand, rel=1e-5)


def test_training_loss_is_what_lm_score_reports_and_survives_save_load(tmp_path):
    vocab = WordVocab.build(LINES)
    model = _adaptive(len(vocab))
    with artifact_writer(tmp_path / "m") as d:
        save_neural(d, "lstm", model, vocab, {}, {})
    loaded, vocab, config = load_neural(tmp_path / "m", torch.device("cpu"))
    assert config["model"]["adaptive_softmax"] is True and loaded.adaptive is not None
    lines = ["the cat sat on the log", "a dog", "zebra and the red mat is the cat"]
    with torch.no_grad():
        loss = float(sentence_loss(loaded, encode_sentences(lines, vocab), vocab.eos_id, torch.device("cpu"), reduction="sum"))
    scored = sum(r.log10_prob for r in neural_scores(tmp_path / "m", lines, device="cpu", batch_size=2))
    assert loss == pytest.approx(-scored * math.log(10), rel=1e-5)
    seqs = [[5, 6, 7], [3, 4, 5, 6], []]
    together = score_batch(loaded, seqs, 1, torch.device("cpu"))
    for seq, lp in zip(seqs, together):
        assert torch.allclose(lp, score_batch(loaded, [seq], 1, torch.device("cpu"))[0], atol=1e-5)


def test_mean_loss_is_per_real_token():
    model = _adaptive().eval()
    seqs = [[5, 6, 7], [3]]
    with torch.no_grad():
        mean = float(sentence_loss(model, seqs, 1, torch.device("cpu")))
        total = float(sentence_loss(model, seqs, 1, torch.device("cpu"), reduction="sum"))
    assert mean == pytest.approx(total / 6, rel=1e-6)  # 3 + 1 words, each sentence's </s>
