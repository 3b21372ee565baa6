"""Fast decoding: the Transformer's key/value cache, batched beam search, lines back in input order.

Random tiny models never choose EOS, so ``eos_prone`` tilts them towards it: hypotheses and
sentences then end at different steps, which is what the batch bookkeeping must get right.
"""

import random

import pytest
import torch

from nlpkit.translate.beam import BeamConfig, beam_search
from nlpkit.translate.data import pad
from nlpkit.translate.incremental import reorder_cache, start_cache
from nlpkit.translate.rnn import RNNSeq2Seq, Seq2SeqConfig
from nlpkit.translate.transformer import TransformerConfig, TransformerSeq2Seq

V = 24
IDS = dict(bos_id=2, eos_id=3, pad_id=0)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def transformer(norm_first=True, positions="sinusoidal", tilt=3.0):
    torch.manual_seed(0)
    cfg = TransformerConfig(src_vocab_size=V, tgt_vocab_size=V, d_model=16, n_heads=2, n_layers=2, d_ff=32,
                            dropout=0.0, norm_first=norm_first, positions=positions, max_len=30)
    model = TransformerSeq2Seq(cfg).eval()
    with torch.no_grad():  # the output layer is tied: a bias along EOS's embedding favours EOS
        norm = model.dec_norm if norm_first else model.decoder[-1].norm2
        norm.bias.copy_(model.tgt_embed.weight[3] * tilt)
    return model


def rnn(arch, cell, tilt):
    torch.manual_seed(0)
    cfg = Seq2SeqConfig(arch=arch, cell=cell, src_vocab_size=V, tgt_vocab_size=V, d_embed=8, d_hidden=12, d_attn=8, dropout=0.0)
    model = RNNSeq2Seq(cfg).eval()
    with torch.no_grad():
        model.out.bias[3] += tilt
    return model


def sentences(lengths=(3, 7, 1, 5, 9, 2), seed=1):
    rng = random.Random(seed)
    return [[rng.randrange(4, V) for _ in range(n)] for n in lengths]


def search(model, sents, **kwargs):
    src = pad(sents, 0)
    config = BeamConfig(**{"max_len_a": 1.0, "max_len_b": 5, **kwargs})
    return beam_search(model, src, src.ne(0), config, **IDS)


def assert_same(a, b, tol=1e-5):
    for ha, hb in zip(a, b, strict=True):
        assert [h.tokens for h in ha] == [h.tokens for h in hb]
        for x, y in zip(ha, hb):
            assert x.positional_scores == pytest.approx(y.positional_scores, abs=tol)
            assert x.score == pytest.approx(y.score, abs=tol)


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
@pytest.mark.parametrize("beam", [1, 4])
def test_cached_decoding_equals_recomputing_the_prefix(norm_first, positions, beam):
    model = transformer(norm_first, positions)
    sents = sentences()
    cached = search(model, sents, beam=beam, nbest=beam)
    model.kv_cache = False
    full = search(model, sents, beam=beam, nbest=beam)
    assert_same(cached, full)
    lengths = {len(h.tokens) for hyps in cached for h in hyps}
    assert len(lengths) > 2  # hypotheses ended at different steps, so rows were dropped and reordered


@pytest.mark.parametrize("beam", [1, 3])
def test_cache_buffers_that_grow_decode_like_recomputing_the_prefix(monkeypatch, beam):
    import nlpkit.translate.incremental as incremental

    monkeypatch.setattr(incremental, "INITIAL_CAPACITY", 1)  # every few steps the buffers double
    model = transformer(tilt=1.0)
    sents = sentences((6, 9, 4))
    cached = search(model, sents, beam=beam, nbest=beam)
    model.kv_cache = False
    assert_same(cached, search(model, sents, beam=beam, nbest=beam))
    assert max(len(h.tokens) for hyps in cached for h in hyps) > 4  # past capacities 1, 2 and 4


def test_reorder_copies_the_filled_positions_into_a_buffer_with_room_for_one_more():
    model = transformer()
    src = torch.tensor([[5, 6, 7], [8, 9, 0]])
    with torch.no_grad():
        state = model.start(src, src.ne(0))
        tokens = torch.tensor([[2, 11, 12], [2, 13, 14]])
        for t in range(3):
            _, _, state = model.step(state, tokens[:, : t + 1])
        k, v = state["self"][0]
        assert k.size(2) >= 3 and state["len"] == 3
        moved = model.reorder(state, torch.tensor([1, 1, 0]))
    k2, v2 = moved["self"][0]
    assert k2.shape == (3, *k.shape[1:2], 4, k.size(3)) and moved["len"] == 3
    assert torch.equal(k2[:, :, :3], k[[1, 1, 0], :, :3]) and torch.equal(v2[:, :, :3], v[[1, 1, 0], :, :3])


def test_cached_step_log_probs_equal_teacher_forced_logits():
    model = transformer(tilt=0.0)
    src = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]])
    tgt = torch.tensor([[2, 11, 12, 13, 14], [2, 15, 16, 17, 18]])
    with torch.no_grad():
        expected = model(src, src.ne(0), tgt).log_softmax(-1)  # (B, T, V)
        state = model.start(src, src.ne(0))
        for t in range(tgt.size(1)):
            lprobs, _, state = model.step(state, tgt[:, : t + 1])
            assert torch.allclose(lprobs, expected[:, t], atol=1e-5)


def test_cached_attention_equals_uncached_attention():
    model = transformer()
    model.want_attention = True
    sents = sentences((4, 2, 6))
    cached = search(model, sents, beam=2, attention=True)
    model.kv_cache = False
    full = search(model, sents, beam=2, attention=True)
    for ha, hb in zip(cached, full):
        assert torch.allclose(torch.tensor(ha[0].attention), torch.tensor(hb[0].attention), atol=1e-5)


def test_reorder_keeps_one_cross_attention_entry_per_sentence():
    model = transformer()
    src = torch.tensor([[5, 6, 7], [8, 9, 0], [10, 11, 12]])
    with torch.no_grad():
        cache = start_cache(model.decoder, model.encode(src, src.ne(0)), src.ne(0))
    assert reorder_cache(cache, torch.arange(3)) is cache  # nothing moved
    beams = reorder_cache(cache, torch.tensor([0, 0, 1, 1, 2, 2]))  # two hypotheses per sentence
    assert beams["group"] == 2 and beams["cross"] is cache["cross"]
    shuffled = reorder_cache(beams, torch.tensor([1, 0, 3, 3, 4, 5]))  # inside each sentence's beam
    assert shuffled["group"] == 2 and shuffled["cross"] is cache["cross"]
    dropped = reorder_cache(shuffled, torch.tensor([0, 1, 4, 4]))  # sentence 1 finished
    assert dropped["group"] == 2
    assert torch.equal(dropped["cross"][1][1], cache["cross"][1][1][[0, 2]])
    assert torch.equal(dropped["keep"][:, 0, 0], src.ne(0)[[0, 2]])
    uneven = reorder_cache(dropped, torch.tensor([3, 0, 1]))  # rows out of sentence order
    assert uneven["group"] == 0 and uneven["cross"] is dropped["cross"]
    assert uneven["entry"].tolist() == [1, 0, 0]


@pytest.mark.parametrize("index", [[0, 0, 1, 1], [0, 1, 0, 0], [1, 0, 1, 0], [1, 1, 1]])
def test_any_row_layout_decodes_like_recomputing_the_prefix(index):
    model = transformer()
    src = torch.tensor([[5, 6, 7], [8, 9, 0]])
    tokens = torch.tensor([[2, 11, 12], [2, 12, 13], [2, 13, 14], [2, 14, 15]])[: len(index)]
    with torch.no_grad():
        cached = model.reorder(model.start(src, src.ne(0)), torch.tensor(index))
        model.kv_cache = False
        full = model.reorder(model.start(src, src.ne(0)), torch.tensor(index))
        for t in range(3):
            b, _, full = model.step(full, tokens[:, : t + 1])
            model.kv_cache = True
            a, _, cached = model.step(cached, tokens[:, : t + 1])
            model.kv_cache = False
            assert torch.allclose(a, b, atol=1e-5)


MODELS = [
    ("transformer", lambda: transformer()),
    ("rnn-attn gru", lambda: rnn("rnn-attn", "gru", 0.3)),
    ("rnn-attn lstm", lambda: rnn("rnn-attn", "lstm", -0.4)),
    ("rnn gru", lambda: rnn("rnn", "gru", 0.1)),
]


@pytest.mark.parametrize("name,make", MODELS, ids=[m[0] for m in MODELS])
@pytest.mark.parametrize("beam", [1, 3])
def test_batched_beam_equals_one_sentence_beam(name, make, beam):
    model = make()
    sents = sentences()
    together = search(model, sents, beam=beam, nbest=beam)
    alone = [search(model, [s], beam=beam, nbest=beam)[0] for s in sents]
    assert_same(together, alone, tol=1e-4)
    assert len({len(hyps[0].tokens) for hyps in together}) > 1  # sentences left the batch at different steps


def test_lines_come_back_in_input_order(tmp_path):
    from nlpkit.translate.decode import translate_lines
    from nlpkit.translate.model import Translator
    from nlpkit.translate.vocab import train_vocabs

    words = "a b c d e f g h".split()
    rng = random.Random(0)
    lines = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 6))) for _ in range(11)]
    lines[4] = ""
    vocabs = train_vocabs(lines, lines, vocab_size=V, joint=True, lowercase=False, min_frequency=1)
    translator = Translator(transformer(), vocabs, {"model": {"max_len": 30}}, torch.device("cpu"))
    config = BeamConfig(beam=3, max_len_a=1.0, max_len_b=3)
    batched = list(translate_lines(translator, lines, config, max_sentences=2, chunk_lines=4))
    one_by_one = [next(iter(translate_lines(translator, [line], config))) for line in lines]
    assert [t.source for t in batched] == lines
    assert [t.hypotheses[0].tokens if t.hypotheses else None for t in batched] == [
        t.hypotheses[0].tokens if t.hypotheses else None for t in one_by_one
    ]
    assert batched[4].text == "" and not batched[4].hypotheses
    assert len({len(t.hypotheses[0].tokens) for t in batched if t.hypotheses}) > 1


def _artefact(tmp_path):
    """A translation model directory (random tiny Transformer) as `translate train` writes one."""
    from dataclasses import asdict

    from nlpkit.artifacts import artifact_writer, write_config
    from nlpkit.translate.model import FORMAT_VERSION, KIND, save_weights
    from nlpkit.translate.vocab import save_vocabs, train_vocabs

    lines = ["a b c", "d e f g", "b c d", "h a"] * 3
    vocabs = train_vocabs(lines, lines, vocab_size=V, joint=True, lowercase=False, min_frequency=1)
    model = transformer()
    with artifact_writer(tmp_path / "model") as d:
        save_weights(model, d)
        save_vocabs(vocabs, d)
        write_config(d, KIND, format_version=FORMAT_VERSION, model=asdict(model.config), train={"joint_vocab": True})
    return tmp_path / "model"


def test_cli_decodes_in_input_order_with_and_without_early_stop(cli, tmp_path):
    from nlpkit.translate.decode import translate_lines
    from nlpkit.translate.model import load_translator

    model = _artefact(tmp_path)
    lines = ["a b c d e", "h", "", "b c d a b c", "d"]
    exact = cli(["translate", "-m", model, "--beam", "3", "--device", "cpu"], input="\n".join(lines) + "\n")
    early = cli(["translate", "-m", model, "--beam", "3", "--early-stop", "--device", "cpu"], input="\n".join(lines) + "\n")
    assert exact.exit_code == 0 and early.exit_code == 0, exact.output + early.output
    translator = load_translator(model, "cpu")
    expected = [t.text for line in lines for t in translate_lines(translator, [line], BeamConfig(beam=3))]
    assert exact.stdout.split("\n")[:-1] == expected and all(expected[i] for i in (0, 1, 3, 4))
    assert len(early.stdout.split("\n")) == len(lines) + 1 and early.stdout.split("\n")[2] == ""
