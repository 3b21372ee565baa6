"""Models: masks, padding, batched vs one-by-one beam search, scheduled sampling, learning a task."""

import random

import pytest
import torch

from nlpkit.translate.beam import BeamConfig, beam_search
from nlpkit.translate.data import ParallelSource, pad
from nlpkit.translate.rnn import RNNSeq2Seq, Seq2SeqConfig, mix_inputs
from nlpkit.translate.schedule import gold_probability
from nlpkit.translate.transformer import TransformerConfig, TransformerSeq2Seq

V = 20


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread avoids OpenMP start-up and contention on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(arch, cell="gru"):
    torch.manual_seed(0)
    if arch == "transformer":
        model = TransformerSeq2Seq(TransformerConfig(src_vocab_size=V, tgt_vocab_size=V, d_model=16, n_heads=2, n_layers=2, d_ff=32, dropout=0.0))
    else:
        model = RNNSeq2Seq(Seq2SeqConfig(arch=arch, cell=cell, src_vocab_size=V, tgt_vocab_size=V, d_embed=8, d_hidden=12, d_attn=8, dropout=0.0))
    return model.eval()


ARCHS = [("rnn-attn", "gru"), ("rnn-attn", "lstm"), ("rnn", "gru"), ("transformer", "gru")]


def test_transformer_decoder_never_sees_the_future():
    model = tiny("transformer")
    src = torch.randint(4, V, (2, 5))
    tgt = torch.randint(4, V, (2, 6))
    changed = tgt.clone()
    changed[:, 4:] = torch.randint(4, V, (2, 2))
    a = model(src, src.ne(0), tgt)
    b = model(src, src.ne(0), changed)
    assert torch.allclose(a[:, :4], b[:, :4], atol=1e-6)
    assert not torch.allclose(a[:, 4:], b[:, 4:])


@pytest.mark.parametrize("arch,cell", ARCHS)
def test_source_padding_is_ignored(arch, cell):
    model = tiny(arch, cell)
    src = torch.randint(4, V, (1, 4))
    padded = torch.cat([src, torch.zeros(1, 3, dtype=torch.long)], dim=1)
    tgt = torch.randint(4, V, (1, 5))
    a = model(src, src.ne(0), tgt)
    b = model(padded, padded.ne(0), tgt)
    assert torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("arch,cell", ARCHS)
def test_batched_beam_search_equals_one_by_one(arch, cell):
    model = tiny(arch, cell)
    rng = random.Random(1)
    sents = [[rng.randrange(4, V) for _ in range(n)] for n in (3, 7, 1, 5)]
    config = BeamConfig(beam=3, nbest=3, max_len_a=1.0, max_len_b=3)
    ids = dict(bos_id=2, eos_id=3, pad_id=0)
    src = pad(sents, 0)
    together = beam_search(model, src, src.ne(0), config, **ids)
    for sent, hyps in zip(sents, together):
        alone = beam_search(model, torch.tensor([sent]), torch.ones(1, len(sent), dtype=torch.bool), config, **ids)[0]
        assert [h.tokens for h in hyps] == [h.tokens for h in alone]
        assert [h.score for h in hyps] == pytest.approx([h.score for h in alone], abs=1e-4)


def test_beam_step_matches_teacher_forced_logits():
    model = tiny("rnn-attn")
    src = torch.randint(4, V, (1, 4))
    hyp = beam_search(model, src, src.ne(0), BeamConfig(beam=1, max_len_a=0, max_len_b=6), bos_id=2, eos_id=3, pad_id=0)[0][0]
    tgt_in = torch.tensor([[2, *hyp.tokens]])
    with torch.no_grad():
        lprobs = model(src, src.ne(0), tgt_in).log_softmax(-1)[0]
    expected = [float(lprobs[t, tok]) for t, tok in enumerate([*hyp.tokens, 3])]
    if len(hyp.tokens) < 6:  # EOS was chosen, not forced
        assert hyp.positional_scores == pytest.approx(expected, abs=1e-5)


def test_attention_rows_are_distributions():
    for arch in ("rnn-attn", "transformer"):
        model = tiny(arch)
        model.want_attention = True
        src = torch.randint(4, V, (2, 5))
        src[1, 3:] = 0
        hyps = beam_search(model, src, src.ne(0), BeamConfig(beam=2, attention=True), bos_id=2, eos_id=3, pad_id=0)
        attn = torch.tensor(hyps[1][0].attention)  # (T, S)
        assert attn.shape == (len(hyps[1][0].tokens) + 1, 5)
        assert torch.allclose(attn.sum(1), torch.ones(attn.size(0)), atol=1e-5)
        assert attn[:, 3:].abs().max() == 0  # padding gets no attention


def test_scheduled_sampling_curves():
    assert gold_probability(0, "none", None, 0.7) == 0.7
    assert gold_probability(0, "linear", 100, 0.0) == 1.0
    assert gold_probability(50, "linear", 100, 0.0) == pytest.approx(0.5)
    assert gold_probability(500, "linear", 100, 0.25) == 0.25
    assert gold_probability(10, "exp", 0.9, 0.0) == pytest.approx(0.9**10)
    assert gold_probability(0, "sigmoid", 10, 0.0) == pytest.approx(10 / 11)
    assert gold_probability(1000, "sigmoid", 10, 0.1) == 0.1


def test_a_schedule_alone_ends_on_model_predictions():
    from nlpkit.translate.config import TrainConfig

    plain = TrainConfig()
    assert plain.teacher_forcing == 1.0
    scheduled = TrainConfig(scheduled_sampling="linear", ss_k=100)
    assert scheduled.teacher_forcing == 0.0  # was 1.0: the schedule's floor, so nothing was ever sampled
    assert gold_probability(50, "linear", 100, scheduled.teacher_forcing) == pytest.approx(0.5)
    kept = TrainConfig(scheduled_sampling="linear", teacher_forcing=0.3)
    assert kept.teacher_forcing == 0.3


def test_mix_inputs_all_gold_or_all_sampled():
    gold = torch.tensor([5, 6, 7, 0])
    logits = torch.full((4, V), -1e9)
    logits[:, 9] = 0.0  # the model always predicts 9
    assert mix_inputs(gold, logits, 1.0).tolist() == [5, 6, 7, 0]
    assert mix_inputs(gold, logits, 0.0).tolist() == [9, 9, 9, 0]  # padding stays


def test_transformer_schedule_is_warmup_then_inverse_sqrt():
    from nlpkit.training.optim import lr_factor
    from nlpkit.translate.config import TrainConfig

    cfg = TrainConfig(arch="transformer")
    assert (cfg.schedule, cfg.warmup, cfg.lr, cfg.max_tokens) == ("inverse_sqrt", 200, 2e-3, 2000)
    assert lr_factor(499, cfg.schedule, 1000, 10**6) == pytest.approx(0.5)  # step 500 of the warm-up
    assert lr_factor(3999, cfg.schedule, 1000, 10**6) == pytest.approx(0.5)  # sqrt(1000 / 4000)
    rnn = TrainConfig(arch="rnn")
    assert (rnn.schedule, rnn.warmup, rnn.lr, rnn.max_tokens) == ("constant", 0, 1e-3, 4000)


def test_parallel_source_needs_both_files():
    from nlpkit.errors import ConfigError

    with pytest.raises(ConfigError):
        ParallelSource(src_file="a")
    with pytest.raises(ConfigError):
        ParallelSource(["x.tsv"], src_col=2, tgt_col=2)


def _learner(arch):
    torch.manual_seed(0)
    if arch == "transformer":
        return TransformerSeq2Seq(TransformerConfig(src_vocab_size=10, tgt_vocab_size=10, d_model=32, n_heads=2, n_layers=2, d_ff=64, dropout=0.0))
    return RNNSeq2Seq(Seq2SeqConfig(arch=arch, src_vocab_size=10, tgt_vocab_size=10, d_embed=16, d_hidden=32, d_attn=16, dropout=0.0))


@pytest.mark.parametrize("arch", ["rnn-attn", "rnn", "transformer"])
def test_tiny_model_learns_to_reverse_to_bleu_100(arch):
    import torch.nn.functional as F

    from nlpkit.translate.bleu import corpus_bleu
    from nlpkit.translate.data import make_batch

    rng = random.Random(0)
    sources = [[rng.randrange(4, 10) for _ in range(rng.randint(2, 5))] for _ in range(24)]
    targets = [list(reversed(s)) for s in sources]
    batch = make_batch(sources, targets, list(range(24)), pad_id=0, bos_id=2, eos_id=3)
    model = _learner(arch)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _ in range(400):
        logits = model(batch.src, batch.src_mask, batch.tgt_in)
        loss = F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if loss.item() < 0.003:
            break
    model.eval()
    hyps = beam_search(model, batch.src, batch.src_mask, BeamConfig(beam=2), bos_id=2, eos_id=3, pad_id=0)
    words = lambda ids: " ".join(f"w{i}" for i in ids)  # noqa: E731
    bleu = corpus_bleu([words(h[0].tokens) for h in hyps], [words(t) for t in targets])
    assert bleu.score == 100.0


@pytest.mark.parametrize("arch,cell", ARCHS)
def test_scheduled_sampling_forward_feeds_model_tokens(arch, cell):
    model = tiny(arch, cell)
    src = torch.randint(4, V, (3, 5))
    tgt = torch.randint(4, V, (3, 6))
    torch.manual_seed(1)
    gold = model(src, src.ne(0), tgt, gold_prob=1.0)
    sampled = model(src, src.ne(0), tgt, gold_prob=0.0)
    assert sampled.shape == gold.shape
    assert torch.allclose(sampled[:, 0], gold[:, 0], atol=1e-6)  # the first input is always BOS
    assert not torch.allclose(sampled[:, 1:], gold[:, 1:])


def test_mix_inputs_samples_each_chosen_position_from_its_own_row():
    torch.manual_seed(0)
    gold = torch.arange(1, 401)  # (400,), no padding
    logits = torch.full((400, V), -1e9)
    predicted = (gold + 3) % V
    logits[torch.arange(400), predicted] = 0.0  # each row predicts its own token
    mixed = mix_inputs(gold, logits, 0.5)
    from_model = mixed.ne(gold)
    assert torch.equal(mixed[from_model], predicted[from_model])
    assert 150 < int(from_model.sum()) < 250  # about half the positions take the model's token
