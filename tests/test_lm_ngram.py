"""Kneser-Ney estimation, ARPA files and the numpy scorer."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nlpkit.errors import ConfigError
from nlpkit.lm.arpa import read_arpa, write_arpa
from nlpkit.lm.kneser_ney import discounts_for, estimate
from nlpkit.lm.ngram_count import count_ngrams, restrict_vocab
from nlpkit.lm.ngram_model import NgramModel
from nlpkit.lm.ngram_train import NgramConfig, import_arpa, load_ngram, train_ngram

ROOT = Path(__file__).resolve().parent.parent
PTB_VALID = ROOT / "corpora" / "ptb" / "ptb.valid.txt.gz"
TINY = ["a b", "a b", "b a"]


def _model(lines, order, **kw):
    tables = estimate(count_ngrams(lines, order), **kw)
    return tables, NgramModel.from_tables(tables)


def _logp(model, sentence):
    return float(model.score_lines([sentence]).logp.sum())


def test_discounts_follow_chen_goodman():
    # t1..t4 = 10, 5, 3, 2: Y = 0.5, D1 = 1 - 2*0.5*5/10, D2 = 2 - 3*0.5*3/5, D3+ = 3 - 4*0.5*2/3
    adjusted = np.array([1] * 10 + [2] * 5 + [3] * 3 + [4] * 2 + [9])
    assert discounts_for(adjusted, 2) == pytest.approx([0.5, 1.1, 3 - 4 / 3])
    # no count-2 n-grams: the documented fallback
    assert discounts_for(np.array([1, 1, 3, 4]), 2) == [0.5, 1.0, 1.5]


def test_bigram_probabilities_match_hand_computation():
    # <s> a b </s> x2, <s> b a </s>. Both orders fall back to D = (0.5, 1, 1.5).
    # Unigrams: continuation counts a=b=</s>=2, total 6, gamma = 1*3/6; uniform over 4 (no <s>):
    #   p(a) = (2-1)/6 + 0.5/4 = 7/24, p(<unk>) = 1/8.
    # Context <s>: c(a)=2, c(b)=1; u(a|<s>) = 1/3, u(b|<s>) = 0.5/3, gamma = (0.5+1)/3 = 0.5
    #   p(a|<s>) = 1/3 + 0.5*7/24 = 23/48, p(b|<s>) = 15/48; likewise after a and after b.
    tables, model = _model(TINY, 2)
    assert tables.discounts == [[0.5, 1.0, 1.5], [0.5, 1.0, 1.5]]
    words = {w: i for i, w in enumerate(tables.words)}
    uni = dict(zip(tables.rows[0][:, 0].tolist(), tables.logp[0]))
    assert uni[words["a"]] == pytest.approx(math.log10(7 / 24))
    assert uni[words["<unk>"]] == pytest.approx(math.log10(1 / 8))
    assert uni[words["<s>"]] == -99
    assert _logp(model, "a b") == pytest.approx(3 * math.log10(23 / 48))
    # b after b is unseen: backoff(b) = gamma(b) = 0.5 times p(b) = 7/24
    assert _logp(model, "b b") == pytest.approx(math.log10(15 / 48) + math.log10(0.5 * 7 / 24) + math.log10(23 / 48))
    bo = dict(zip(map(tuple, tables.rows[0].tolist()), tables.backoff[0]))
    assert bo[(words["<s>"],)] == pytest.approx(math.log10(0.5))
    assert bo[(words["</s>"],)] == 0.0


def _all_contexts(tables, k):
    return {tuple(r[:-1]) for r in tables.rows[k - 1].tolist()} if k > 1 else {()}


@pytest.mark.parametrize("prune", [None, [0, 1, 1]])
def test_every_context_sums_to_one(prune):
    lines = [line for line in __import__("gzip").open(PTB_VALID, "rt").read().splitlines()[:300]]
    tables, model = _model(lines, 3, prune=prune)
    bos = tables.bos_id
    contexts = list(_all_contexts(tables, 3))[:40] + list(_all_contexts(tables, 2))[:20] + [(), (5, 6), (bos, 7)]
    for ctx in contexts:
        total = np.sum(10.0 ** model.next_logprobs(list(ctx)))
        assert total == pytest.approx(1.0, abs=2e-5), ctx


def test_pruning_drops_singletons_but_keeps_needed_prefixes():
    lines = __import__("gzip").open(PTB_VALID, "rt").read().splitlines()[:300]
    full, _ = _model(lines, 3)
    pruned, _ = _model(lines, 3, prune=[0, 1, 1])
    assert len(pruned.rows[2]) < len(full.rows[2]) and len(pruned.rows[1]) < len(full.rows[1])
    bigrams = {tuple(r) for r in pruned.rows[1].tolist()}
    for r in pruned.rows[2].tolist():
        assert tuple(r[:2]) in bigrams and tuple(r[1:]) in bigrams
    with pytest.raises(ConfigError):
        estimate(count_ngrams(TINY, 2), prune=[1, 1])


def test_arpa_round_trip(tmp_path):
    tables, model = _model(TINY + ["b b a", "c a b"], 3)
    write_arpa(tables, tmp_path / "m.arpa")
    text = (tmp_path / "m.arpa").read_text()
    assert text.startswith("\\data\\\nngram 1=6\n") and text.rstrip().endswith("\\end\\")
    back = read_arpa(tmp_path / "m.arpa")
    assert back.words == tables.words
    for k in range(3):
        assert np.array_equal(back.rows[k], tables.rows[k])
        assert np.allclose(back.logp[k], tables.logp[k], atol=1e-6)
        assert np.allclose(back.backoff[k], tables.backoff[k], atol=1e-6)
    again = NgramModel.from_tables(back)
    for s in ["a b", "c c c", "", "zz a"]:
        assert _logp(again, s) == pytest.approx(_logp(model, s), abs=1e-5)


def test_import_of_a_foreign_arpa_without_unk(tmp_path):
    arpa = tmp_path / "x.arpa"
    arpa.write_text(
        "made by hand\n\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-1.0 <s> -0.5\n-0.5 a -0.2\n-0.4 </s>\n-99 b\n\n"
        "\\2-grams:\n-0.1 <s> a\n-0.3 a </s>\n\n\\end\\\n"
    )
    config = import_arpa(arpa, tmp_path / "m")
    assert config["train"]["ngrams"] == [5, 2]
    model = load_ngram(tmp_path / "m")
    assert _logp(model, "a") == pytest.approx(-0.1 - 0.3)
    # backoff(<s>) + p(b), then p(a) after b (no bigram, backoff 0), then the bigram a </s>
    assert _logp(model, "b a") == pytest.approx(-0.5 - 99 - 0.5 - 0.3)
    assert _logp(model, "q") == pytest.approx(-0.5 - 100 - 0.4)  # <unk> added with -100


def test_a_tokens_backoffs_are_added_in_float32_shortest_context_first(tmp_path):
    arpa = tmp_path / "x.arpa"
    arpa.write_text(
        "\\data\\\nngram 1=5\nngram 2=2\nngram 3=1\n\n\\1-grams:\n-1.0 <s> -0.1\n-0.7 a -0.3\n-0.4 </s>\n"
        "-2.3 b -0.2\n-99 <unk>\n\n\\2-grams:\n-0.2 <s> a -0.7\n-0.6 a b -0.1\n\n\\3-grams:\n-0.3 <s> a b\n\n\\end\\\n"
    )
    import_arpa(arpa, tmp_path / "m")
    model = load_ngram(tmp_path / "m")
    s = model.score_lines(["a a"])
    f = np.float32
    # the second a: unigram match, then backoff(a) and backoff(<s> a), in that order, in float32
    expected = (f(-0.7) + f(-0.3)) + f(-0.7)
    assert s.logp[1] == float(expected)
    assert s.logp[1] != float(f(-0.7)) + (float(f(-0.3)) + float(f(-0.7)))  # the float64 sum differs
    assert s.length.tolist() == [2, 1, 1]


def test_vocab_limit_and_min_count_map_rare_words_to_unk():
    counts = restrict_vocab(count_ngrams(["a a a b b c", "a b"], 2), min_count=2)
    assert counts.words == ["<unk>", "<s>", "</s>", "a", "b"]
    limited = restrict_vocab(count_ngrams(["a a a b b c", "a b"], 2), vocab_limit=1)
    assert limited.words == ["<unk>", "<s>", "</s>", "a"]
    # the literal <unk> is the unknown word
    assert count_ngrams(["<unk> a"], 1).words == ["<unk>", "<s>", "</s>", "a"]


@pytest.fixture(scope="module")
def ptb4(tmp_path_factory):
    """A 4-gram on the shipped PTB valid text, with its ARPA."""
    out = tmp_path_factory.mktemp("ptb4") / "m"
    train_ngram([str(PTB_VALID)], out, NgramConfig(order=4, arpa=True))
    return out


def _kenlm_sums(model, lines):
    """Per-sentence float64 sums of KenLM's per-token float32 scores (its score() sums in float32)."""
    return np.array([sum(float(p) for p, _, _ in model.full_scores(t, bos=True, eos=True)) for t in lines])


def test_scores_agree_with_the_kenlm_module(ptb4):
    kenlm = pytest.importorskip("kenlm")
    lines = __import__("gzip").open(PTB_VALID, "rt").read().splitlines()
    ours = load_ngram(ptb4)
    theirs = kenlm.Model(str(ptb4 / "model.arpa"))
    long = [" ".join(lines[i : i + 40]) for i in range(0, 400, 40)]  # ~800 words: float64 sums drifted 1e-5 here
    test = lines[:300] + ["", "the apple and pear salad", "zzz qqq <unk> the", " ".join(lines[:8])] + long
    s = ours.score_lines(test)
    mine = np.bincount(s.line, weights=s.logp, minlength=len(test))
    assert np.abs(mine - _kenlm_sums(theirs, test)).max() <= 1e-9
    # every token's value is KenLM's, bit for bit (float32 sums in its order)
    assert s.logp.tolist() == [p for t in test for p, _, _ in theirs.full_scores(t, bos=True, eos=True)]
    # and token by token, n-gram lengths included
    detail = list(theirs.full_scores(test[3], bos=True, eos=True))
    first = s.line == 3
    assert np.allclose(s.logp[first], [p for p, _, _ in detail], atol=1e-6)
    assert s.length[first].tolist() == [n for _, n, _ in detail]


def test_binary_scores_equal_arpa_scores_and_export_round_trips(ptb4, tmp_path):
    from nlpkit.lm.ngram_train import export_arpa

    lines = __import__("gzip").open(PTB_VALID, "rt").read().splitlines()[:200] + ["", "zzz the"]
    binary = load_ngram(ptb4)
    from_arpa = NgramModel.from_tables(read_arpa(ptb4 / "model.arpa"))
    a, b = binary.score_lines(lines), from_arpa.score_lines(lines)
    assert np.array_equal(a.logp, b.logp) and np.array_equal(a.length, b.length)
    export_arpa(ptb4, tmp_path / "back.arpa")
    assert (tmp_path / "back.arpa").read_text() == (ptb4 / "model.arpa").read_text()


def test_binary_is_smaller_than_kenlm_probing(ptb4):
    # KenLM's probing binary: 1.5 slots per n-gram of 8-byte key + 4-byte prob + 4-byte backoff
    # (no backoff at the highest order); unigrams 8 bytes each.
    ngrams = __import__("json").loads((ptb4 / "config.json").read_text())["train"]["ngrams"]
    probing = 8 * ngrams[0] + sum(1.5 * (16 if k < len(ngrams) - 1 else 12) * n for k, n in enumerate(ngrams) if k)
    assert (ptb4 / "ngram.bin").stat().st_size <= probing


def test_quantized_model_is_smaller_and_close(ptb4, tmp_path):
    import_arpa(ptb4 / "model.arpa", tmp_path / "q", quantize=8)
    lines = __import__("gzip").open(PTB_VALID, "rt").read().splitlines()[:300]
    exact, quant = load_ngram(ptb4).score_lines(lines), load_ngram(tmp_path / "q").score_lines(lines)
    assert (tmp_path / "q" / "ngram.bin").stat().st_size < 0.8 * (ptb4 / "ngram.bin").stat().st_size
    ppl = [10 ** (-s.logp.sum() / len(s.logp)) for s in (exact, quant)]
    assert ppl[1] == pytest.approx(ppl[0], rel=0.03) and ppl[1] != ppl[0]
    assert np.array_equal(exact.length, quant.length)


def test_codebook_keeps_zero_and_is_nearest():
    from nlpkit.lm.binary import codebook

    values = np.array([0.0, -0.1, -0.2, -0.3, 0.0, -5.0])
    book, codes = codebook(values, keep_zero=True)
    assert book[codes[0]] == 0.0 and book[codes[4]] == 0.0
    assert np.allclose(book[codes], values)  # fewer values than 256 bins: exact


def test_ngram_score_imports_no_torch(tmp_path):
    train_ngram([str(PTB_VALID)], tmp_path / "m", NgramConfig(order=2))
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom nlpkit_cli.app import app\n"
        f"r = CliRunner().invoke(app, ['lm', 'score', '-m', {str(tmp_path / 'm')!r}, '-f', 'jsonl'], input='the cat\\n\\n')\n"
        "assert r.exit_code == 0, r.output\nprint(r.output.count('log10_prob'), 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "False"]


def test_spilled_training_gives_the_same_arpa(tmp_path):
    from nlpkit.lm.ngram_spill import parse_size

    assert parse_size("4G") == 4 * 2**30 and parse_size("500m") == 500 * 2**20 and parse_size("64K") == 65536
    with pytest.raises(ConfigError):
        parse_size("lots")
    lines = __import__("gzip").open(PTB_VALID, "rt").read().splitlines()[:400]
    (tmp_path / "t.txt").write_text("\n".join(lines) + "\n")
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()
    args = [[str(tmp_path / "t.txt")]]
    train_ngram(*args, tmp_path / "mem", NgramConfig(order=4, arpa=True), chunk_tokens=1000)
    train_ngram(*args, tmp_path / "disk", NgramConfig(order=4, arpa=True, memory="1K", temp_dir=str(spill_dir)),
                chunk_tokens=1000)
    assert (tmp_path / "mem" / "model.arpa").read_text() == (tmp_path / "disk" / "model.arpa").read_text()
    assert list(spill_dir.iterdir()) == []  # runs removed after the merge
    # and the same as counting in one piece
    train_ngram(*args, tmp_path / "one", NgramConfig(order=4, arpa=True))
    assert (tmp_path / "one" / "model.arpa").read_text() == (tmp_path / "mem" / "model.arpa").read_text()


@pytest.mark.parametrize("order,prune,unseen", [(1, None, ()), (3, None, ("zz1", "zz2")), (3, [0, 1, 1], ()),
                                                (5, [0, 0, 1, 2], ())])
def test_streamed_estimation_equals_in_memory(tmp_path, order, prune, unseen):
    from nlpkit.lm.kneser_ney_stream import estimate_streamed

    lines = __import__("gzip").open(PTB_VALID, "rt").read().splitlines()[:300]
    counts = count_ngrams(lines, order, vocab=unseen)  # unseen: a tokenizer's pieces the text never uses
    want = estimate(counts, prune)
    got = estimate_streamed(counts, tmp_path, prune, chunk=97)  # many chunks per order and pass
    assert got.discounts == want.discounts
    for k in range(order):
        # bit for bit: the float64 sums are formed in the same order, one context at a time
        assert np.array_equal(got.rows[k], want.rows[k])
        assert np.array_equal(got.logp[k], want.logp[k])
        assert np.array_equal(got.backoff[k], want.backoff[k])
        if k:
            from nlpkit.lm.ngram_count import lookup_rows

            suffix = lookup_rows(want.rows[k - 1], want.rows[k][:, 1:]) if k > 1 else want.rows[k][:, 1]
            assert np.array_equal(got.suffix[k], suffix)


@pytest.mark.parametrize("order,prune", [(1, None), (2, None), (4, [0, 1, 1])])
def test_streamed_binary_has_the_bytes_of_the_in_memory_one(tmp_path, order, prune):
    from nlpkit.lm.binary import NgramBinary
    from nlpkit.lm.binary_write import write_binary_streamed
    from nlpkit.lm.kneser_ney_stream import estimate_streamed

    lines = __import__("gzip").open(PTB_VALID, "rt").read().splitlines()[:300]
    tables = estimate_streamed(count_ngrams(lines, order), tmp_path, prune, chunk=97)
    NgramBinary.build(tables.rows, tables.logp, tables.backoff, len(tables.words)).save(tmp_path / "mem.bin")
    write_binary_streamed(tables, tmp_path / "disk.bin", chunk=101)
    assert (tmp_path / "mem.bin").read_bytes() == (tmp_path / "disk.bin").read_bytes()


def test_streamed_path_with_empty_top_orders(tmp_path):
    from nlpkit.lm.binary import NgramBinary
    from nlpkit.lm.binary_write import write_binary_streamed
    from nlpkit.lm.kneser_ney_stream import estimate_streamed

    counts = count_ngrams(["a", "b"], 5)  # no 4- or 5-grams fit in "<s> a </s>"
    want = estimate(counts)
    got = estimate_streamed(counts, tmp_path, chunk=2)
    assert [len(r) for r in got.rows] == [5, 4, 2, 0, 0]
    assert all(np.array_equal(g, w) for g, w in zip(got.logp, want.logp))
    NgramBinary.build(want.rows, want.logp, want.backoff, len(want.words)).save(tmp_path / "mem.bin")
    write_binary_streamed(got, tmp_path / "disk.bin", chunk=3)
    assert (tmp_path / "mem.bin").read_bytes() == (tmp_path / "disk.bin").read_bytes()


@pytest.mark.parametrize("prune,quantize,min_count", [([], 0, 1), ([0, 1, 1], 0, 1), ([0, 1, 1], 8, 1), ([], 0, 2)])
def test_training_beyond_the_memory_budget_gives_the_same_model(tmp_path, caplog, prune, quantize, min_count):
    lines = __import__("gzip").open(PTB_VALID, "rt").read().splitlines()[:400]
    (tmp_path / "t.txt").write_text("\n".join(lines) + "\n")
    work = tmp_path / "work"
    work.mkdir()
    args = [[str(tmp_path / "t.txt")]]
    same = {"order": 4, "arpa": True, "prune": prune, "quantize": quantize, "min_count": min_count}
    train_ngram(*args, tmp_path / "mem", NgramConfig(**same))
    with caplog.at_level("INFO", logger="nlpkit"):
        train_ngram(*args, tmp_path / "disk", NgramConfig(**same, memory="1K", temp_dir=str(work)), chunk_tokens=1000)
    assert "estimating" in caplog.text and "from files" in caplog.text  # counting and estimation both spilled
    assert ("remapping the n-grams" in caplog.text) == (min_count > 1)
    for name in ("model.arpa", "ngram.bin"):
        assert (tmp_path / "mem" / name).read_bytes() == (tmp_path / "disk" / name).read_bytes(), name
    assert list(work.iterdir()) == []  # estimation files removed


def test_spilled_runs_are_merged_in_id_ranges(tmp_path):
    from nlpkit.lm.ngram_spill import RunStore

    rng = np.random.default_rng(0)
    store = RunStore(2, budget=200, temp_dir=tmp_path)  # spills every add; merges ranges of ~200 bytes
    expected = {}
    for _ in range(5):
        rows = rng.integers(0, 30, (60, 2)).astype(np.uint32)
        for r in map(tuple, rows.tolist()):
            expected[r] = expected.get(r, 0) + 1
        uni, cnt = np.unique(rows[:, :1], axis=0, return_counts=True)
        big, bcnt = np.unique(rows, axis=0, return_counts=True)
        store.add([uni.astype(np.uint32), big.astype(np.uint32)], [cnt.astype(np.int64), bcnt.astype(np.int64)])
    assert store.spilled == 5
    rows, counts = store.result(30)
    got = dict(zip(map(tuple, rows[1].tolist()), counts[1].tolist()))
    assert got == expected
    assert [tuple(r) for r in rows[1].tolist()] == sorted(expected)


def _ppl(model, lines):
    from nlpkit.lm.prune import perplexity

    return perplexity(model, lines)


def test_entropy_pruning_keeps_a_normalised_smaller_model():
    from nlpkit.lm.prune import entropy_prune

    lines = __import__("gzip").open(PTB_VALID, "rt").read().splitlines()
    train, held = lines[:1500], lines[1500:1700]
    full, model = _model(train, 3)
    sizes = [len(r) for r in full.rows]
    pruned, removed = entropy_prune(_model(train, 3)[0], 1e-6)
    assert removed[0] == 0 and removed[2] > 0 and [len(r) for r in pruned.rows] == [s - d for s, d in zip(sizes, removed)]
    small = NgramModel.from_tables(pruned)
    for ctx in [(), (pruned.bos_id,), tuple(pruned.rows[1][5]), tuple(pruned.rows[2][7][:2])]:
        assert np.sum(10.0 ** small.next_logprobs(list(ctx))) == pytest.approx(1.0, abs=1e-5), ctx
    bigrams = {tuple(r) for r in pruned.rows[1].tolist()}
    assert all(tuple(r[:2]) in bigrams and tuple(r[1:]) in bigrams for r in pruned.rows[2].tolist())
    # a small cost on held-out text, a large one only with a large threshold
    assert _ppl(model, held) <= _ppl(small, held) < 1.05 * _ppl(model, held)
    heavy, removed_more = entropy_prune(_model(train, 3)[0], 1e-3)
    assert sum(removed_more) > sum(removed)
    # threshold 0 prunes nothing that matters: the same probabilities
    same, _ = entropy_prune(_model(train, 3)[0], 0.0)
    assert _ppl(NgramModel.from_tables(same), held) == pytest.approx(_ppl(model, held), rel=1e-6)


def test_filter_keeps_only_ngrams_over_the_vocabulary():
    from nlpkit.lm.prune import filter_vocab

    tables, model = _model(TINY + ["b b a", "c a b"], 3)
    small = filter_vocab(tables, {"a", "b"})
    assert small.words == ["<unk>", "<s>", "</s>", "a", "b"]
    assert set(np.concatenate([r.ravel() for r in small.rows]).tolist()) <= {0, 1, 2, 3, 4}
    filtered = NgramModel.from_tables(small)
    # a sentence over the vocabulary scores as before
    assert _logp(filtered, "a b a") == pytest.approx(_logp(model, "a b a"), abs=1e-6)
    assert len(small.rows[2]) < len(tables.rows[2])


def test_em_weights_find_the_best_mix():
    from nlpkit.lm.interpolate import em_weights, mix_logp

    rng = np.random.default_rng(0)
    # two models, each better on half of the tokens: the best mix is strictly better than either
    a = np.log10(rng.uniform(0.01, 0.5, 400))
    b = np.log10(rng.uniform(0.01, 0.5, 400))
    a[:200] -= 1.0
    b[200:] -= 1.0
    logp = np.stack([a, b], axis=1)
    w, _ = em_weights(logp)
    assert w.sum() == pytest.approx(1.0) and (w > 0).all()
    best = mix_logp(logp, w).sum()
    assert best > max(a.sum(), b.sum())
    for other in ([0.3, 0.7], [0.5, 0.5], [0.7, 0.3]):  # the EM optimum beats any other weights
        assert best >= mix_logp(logp, np.array(other)).sum() - 1e-9
    # one useless model gets (almost) no weight
    w, _ = em_weights(np.stack([a, a - 2.0], axis=1))
    assert w[0] > 0.99


def test_old_format_models_still_load_from_their_arpa(ptb4, tmp_path, caplog):
    import json
    import shutil

    old = tmp_path / "old"
    shutil.copytree(ptb4, old)
    (old / "ngram.bin").unlink()
    config = json.loads((old / "config.json").read_text())
    config["format_version"] = 1
    config["files"].pop("ngram.bin")
    (old / "config.json").write_text(json.dumps(config))
    lines = ["the company said", "", "zzz"]
    with caplog.at_level("WARNING", logger="nlpkit"):
        s = load_ngram(old).score_lines(lines)
    assert "old-format" in caplog.text
    assert np.array_equal(s.logp, load_ngram(ptb4).score_lines(lines).logp)


def test_bucketed_lookup_finds_every_key_and_nothing_else():
    from nlpkit.lm.binary import bucketed, lookup

    rng = np.random.default_rng(1)
    keys = np.unique(rng.integers(1, 2**40, 5000).astype(np.uint64))
    table, offsets, index = bucketed(keys)
    assert np.array_equal(table[index], keys) and offsets[-1] == len(keys)
    assert np.array_equal(lookup(table, offsets, keys), index)
    absent = np.setdiff1d(rng.integers(1, 2**40, 5000).astype(np.uint64), keys)
    assert (lookup(table, offsets, absent) == -1).all()
    assert lookup(table, offsets, np.zeros(0, np.uint64)).shape == (0,)


def test_lookup_rows_fast_and_general_paths_agree():
    from nlpkit.lm.ngram_count import lookup_rows, unique_rows

    rng = np.random.default_rng(2)
    table, _ = unique_rows(rng.integers(0, 50, (400, 3)).astype(np.uint32), np.ones(400, np.int64))
    query = np.concatenate([table[::3], rng.integers(0, 60, (200, 3)).astype(np.uint32)])
    expected = [next((i for i, t in enumerate(table.tolist()) if t == q), -1) for q in query.tolist()]
    assert lookup_rows(table, query).tolist() == expected  # packed keys, binary search
    assert lookup_rows(table[::-1].copy(), query[:5]).tolist() == [len(table) - 1 - e if e >= 0 else -1 for e in expected[:5]]
    wide = np.concatenate([table, np.full((len(table), 1), 2**31, np.uint32), table], axis=1)  # too wide to pack
    wq = np.concatenate([query, np.full((len(query), 1), 2**31, np.uint32), query], axis=1)
    assert lookup_rows(wide, wq).tolist() == expected


def test_threads_zero_means_one_per_core_at_most_four(monkeypatch):
    import os

    from nlpkit.lm.score import ngram_threads

    assert ngram_threads(3) == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)), raising=False)
    assert ngram_threads(0) == 4
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert ngram_threads(0) == 2
