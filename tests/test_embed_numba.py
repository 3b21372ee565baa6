"""The compiled word2vec kernel and the batched torch path: same objective, same checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nlpkit.embeddings.batches import Chunk, encode_chunks
from nlpkit.embeddings.spool import ChunkSpool
from nlpkit.embeddings.training import RunOptions, scan_vocab
from nlpkit.embeddings.vectors import WordVectors
from nlpkit.embeddings.vocab import huffman_tree, noise_distribution
from nlpkit.embeddings.w2v_numba import NumbaTrainer, split_spans
from nlpkit.embeddings.w2v_sampling import alias_table
from nlpkit.embeddings.word2vec import Word2VecConfig, Word2VecTrainer, train_word2vec, trainer_class
from tests.test_embed_train import group_purity, write_corpus

KERNELS = ["numba", "torch"]
CASES = [("sg", "ns"), ("cbow", "ns"), ("sg", "hs"), ("cbow", "hs")]


def objective(trainer, lines, window=2, negative=5, seed=0) -> float:
    """Mean word2vec loss over (centre, context) pairs of ``lines``, fixed negatives; numpy only.

    skip-gram: centre input vector vs context output vector; CBOW: mean context vector vs centre.
    """
    rng = np.random.default_rng(seed)
    w_in, w_out = np.asarray(trainer.w_in), np.asarray(trainer.w_out)  # numpy (compiled kernel) or torch
    cfg, index = trainer.cfg, trainer.vocab.index
    p = noise_distribution(trainer.vocab.counts)
    tree = huffman_tree(trainer.vocab.counts) if cfg.loss == "hs" else None
    ls = lambda x: np.logaddexp(0.0, -x)  # -log sigmoid(x)  # noqa: E731
    total, n = 0.0, 0
    for line in lines:
        ids = [index[w] for w in line.split() if w in index]
        for i, centre in enumerate(ids):
            ctx = [ids[j] for j in range(max(0, i - window), min(len(ids), i + window + 1)) if j != i]
            if not ctx:
                continue
            pairs = [(w_in[centre], c) for c in ctx] if cfg.algo == "sg" else [(w_in[ctx].mean(0), centre)]
            for h, target in pairs:
                if tree is None:
                    noise = rng.choice(len(p), size=negative, p=p)
                    total += ls(h @ w_out[target]) + ls(-(w_out[noise] @ h)).sum()
                else:
                    k = tree.lengths[target]
                    f = w_out[tree.points[target, :k]] @ h
                    total += ls(np.where(tree.codes[target, :k] == 0, f, -f)).sum()
                n += 1
    return total / n


def _trained_objective(tmp_path, kernel, algo, loss) -> tuple[float, float]:
    corpus = write_corpus(tmp_path / "c.txt", sentences=600)
    cfg = Word2VecConfig(algo=algo, loss=loss, kernel=kernel, dim=16, window=3, min_count=1, epochs=2, sample=0,
                         batch_size=64, threads=1, device="cpu", seed=3, lr=0.05 if algo == "cbow" else 0.025)
    run = RunOptions(quiet=True, checkpoint_every="0")
    vocab = scan_vocab([str(corpus)], False, 1, None, run)
    trainer = trainer_class(cfg, torch.device("cpu"))(cfg, vocab, torch.device("cpu"))
    assert isinstance(trainer, NumbaTrainer) == (kernel == "numba")
    held_out = corpus.read_text().splitlines()[:100]
    before = objective(trainer, held_out)
    trainer.train([str(corpus)], tmp_path / kernel, run)
    return before, objective(trainer, held_out)


@pytest.mark.parametrize("algo,loss", CASES)
def test_both_kernels_lower_the_same_objective_alike(tmp_path, algo, loss):
    numba_before, numba_after = _trained_objective(tmp_path, "numba", algo, loss)
    torch_before, torch_after = _trained_objective(tmp_path, "torch", algo, loss)
    # calibrated (seed 3): after/before 0.55-0.59 with ns, 0.83-0.89 with hs (the corpus is mostly noise),
    # and the two kernels end within 2% of each other in every case
    assert numba_after < (0.7 if loss == "ns" else 0.93) * numba_before
    assert torch_after < (0.7 if loss == "ns" else 0.93) * torch_before
    assert abs(numba_after - torch_after) < 0.05 * torch_after


@pytest.mark.parametrize("algo,loss", CASES)
def test_numba_kernel_reports_falling_epoch_loss_and_groups_words(tmp_path, algo, loss):
    corpus = write_corpus(tmp_path / "c.txt", sentences=800)
    cfg = Word2VecConfig(algo=algo, loss=loss, dim=16, window=3, min_count=1, epochs=3, sample=1e-2, threads=2,
                         device="cpu", seed=1, lr=0.05 if algo == "cbow" else 0.025)
    stats = train_word2vec([str(corpus)], tmp_path / "m", cfg, RunOptions(quiet=True, checkpoint_every="0"))
    losses = stats["epoch_losses"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert group_purity(WordVectors.load(tmp_path / "m")) >= 0.8  # calibrated: 1.0 with 2 threads


def test_numba_single_thread_is_reproducible(tmp_path):
    corpus = str(write_corpus(tmp_path / "c.txt", sentences=300))
    cfg = Word2VecConfig(dim=8, window=2, min_count=1, epochs=3, threads=1, device="cpu", seed=5)
    for name in ("a", "b"):
        train_word2vec([corpus], tmp_path / name, cfg, RunOptions(quiet=True, checkpoint_every="0"))
    a, b = WordVectors.load(tmp_path / "a"), WordVectors.load(tmp_path / "b")
    assert np.array_equal(np.asarray(a.vectors), np.asarray(b.vectors))


def test_kernel_selection():
    cpu = torch.device("cpu")
    assert trainer_class(Word2VecConfig(device="cpu"), cpu) is NumbaTrainer
    assert trainer_class(Word2VecConfig(device="cpu", kernel="torch"), cpu) is Word2VecTrainer
    from nlpkit.errors import ConfigError

    with pytest.raises(ConfigError, match="numba runs on the CPU"):
        trainer_class(Word2VecConfig(kernel="numba"), torch.device("meta"))
    assert trainer_class(Word2VecConfig(), torch.device("meta")) is Word2VecTrainer
    with pytest.raises(ConfigError, match="--kernel"):
        Word2VecConfig(kernel="fast")


def test_alias_table_draws_the_noise_distribution():
    p = np.array([0.5, 0.25, 0.125, 0.125])
    prob, alias = alias_table(p)
    # probability of word w = (prob[w] + sum of (1 - prob[s]) over slots s aliased to w) / V
    got = [(prob[w] + sum(1 - prob[s] for s in range(4) if alias[s] == w and prob[s] < 1)) / 4 for w in range(4)]
    assert np.allclose(got, p)


def test_split_spans_cuts_at_line_starts():
    sentence = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])
    assert split_spans(sentence, 2) == [(0, 5), (5, 10)]
    assert split_spans(sentence, 1) == [(0, 10)]
    assert split_spans(np.zeros(4, np.int64), 3) == [(0, 4)]  # one line is never cut
    assert split_spans(np.zeros(0, np.int64), 2) == []


def test_spool_replays_chunks(tmp_path):
    index = {"a": 0, "b": 1, "c": 2}
    chunks = list(encode_chunks(["a b c", "c x a", "", "b b"], index, chunk_words=2))
    spool = ChunkSpool(tmp_path)
    assert [c.ids.tolist() for c in spool.record(iter(chunks))] == [c.ids.tolist() for c in chunks]
    assert spool.complete
    replayed = list(spool.replay(1))
    assert len(replayed) == len(chunks) - 1
    for a, b in zip(replayed, chunks[1:]):
        assert isinstance(a, Chunk) and a.ids.tolist() == b.ids.tolist() and a.sentence.tolist() == b.sentence.tolist()
        assert (a.words, a.lines) == (b.words, b.lines)
    spool.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("kernel", KERNELS)
def test_related_words_come_out_close_on_ptb(tmp_path, kernel):
    from tests.conftest import CORPORA

    cfg = Word2VecConfig(kernel=kernel, dim=50, epochs=5, min_count=5, threads=2, device="cpu", seed=1)
    train_word2vec([str(CORPORA / "ptb" / "ptb.train.txt.gz")], tmp_path / "m", cfg, RunOptions(quiet=True, checkpoint_every="0"))
    wv = WordVectors.load(tmp_path / "m")
    top = {w: [r.word for r in wv.similar([wv.lookup(w)], topk=6)[0]] for w in ("monday", "million", "president")}
    # calibrated on both kernels (212k words of PTB): billion, a weekday and vice/chief within the top 6
    assert "billion" in top["million"]
    assert {"tuesday", "wednesday", "thursday", "friday"} & set(top["monday"])
    assert {"vice", "chairman", "chief", "executive"} & set(top["president"])


def test_compiled_kernel_on_cpu_trains_without_torch(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    corpus = write_corpus(tmp_path / "c.txt", sentences=100)
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from nlpkit_cli.app import app\n"
        f"r = CliRunner().invoke(app, ['embed', 'train', {str(corpus)!r}, '-o', {str(tmp_path / 'm')!r}, '--device', 'cpu',\n"
        "                              '--min-count', '1', '--dim', '8', '--epochs', '2', '--checkpoint-every', '0', '-q'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"  # torch costs about a second to import; the kernel does not need it
    assert (tmp_path / "m" / "vectors.safetensors").exists()


def _toy_span(w_in, w_out, ids, sg, lr=0.5, negative=1):
    """Run the kernel once over one line ``ids`` of a 3-word vocabulary: window 1, no subsampling,
    constant learning rate, and a noise distribution that always draws word 2."""
    from nlpkit.embeddings.w2v_numba import train_span

    v = w_in.shape[0]
    ids = np.asarray(ids, np.int64)
    tree = np.zeros((v, 1), np.int64), np.zeros((v, 1), np.int8), np.zeros(v, np.int64)
    train_span(w_in, w_out, ids, np.zeros(len(ids), np.int64), np.ones(v), alias_table(np.array([0.0, 0.0, 1.0])), *tree,
               np.arange(v + 1, dtype=np.int64), np.arange(v, dtype=np.int64), False, sg, False, negative, 1,
               lr, lr, 0.0, 100.0, 7)


def test_cbow_update_matches_gensim_cbow_mean_by_hand():
    rng = np.random.default_rng(0)
    w_in = rng.normal(0, 0.5, (3, 4)).astype(np.float32)
    w_out = rng.normal(0, 0.5, (3, 4)).astype(np.float32)
    ref_in, ref_out = w_in.astype(np.float64), w_out.astype(np.float64)
    ids, lr = [0, 1, 2], 0.5
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    for j, centre in enumerate(ids):  # gensim's fast_sentence_cbow_neg with cbow_mean=1, window 1
        ctx = [ids[k] for k in (j - 1, j + 1) if 0 <= k < len(ids)]
        h = ref_in[ctx].mean(0)  # the MEAN of the context rows
        err = np.zeros(4)
        for target, label in [(centre, 1.0), (2, 0.0)]:
            if label == 0.0 and target == centre:
                continue  # a noise draw equal to the target is skipped
            g = (label - sigmoid(h @ ref_out[target])) * lr
            err += g * ref_out[target]
            ref_out[target] += g * h
        for c in ctx:
            ref_in[c] += err  # every context row takes the whole error (not err / len(ctx))
    _toy_span(w_in, w_out, ids, sg=False, lr=lr)
    # the kernel reads sigmoid from word2vec's 1000-slot table: within 0.3% of the exact value
    assert np.allclose(w_out, ref_out, atol=2e-3) and np.allclose(w_in, ref_in, atol=2e-3)


def test_saturated_pairs_are_skipped_as_gensim():
    # skip-gram on "a b": the noise word 2 scores 8 against both inputs (beyond the table's 6): untouched
    w_in = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]], np.float32)
    w_out = np.array([[0.0, 0.0], [0.0, 0.0], [4.0, 4.0]], np.float32)
    _toy_span(w_in, w_out, [0, 1], sg=True, lr=0.1)
    assert np.array_equal(w_out[2], [4.0, 4.0])  # word2vec.c would push it by -lr * input
    # the positive pairs (score 0 -> sigmoid 0.5) are trained: rows 0 and 1 moved by 0.5 * lr * input
    assert np.allclose(w_out[:2], 0.05) and np.allclose(w_in[:2], 1.0)


def test_loss_table_is_minus_log_sigmoid():
    from nlpkit.embeddings.w2v_numba import _pair_loss

    for f in (-7.0, -3.2, -0.4, 0.0, 1.7, 5.9, 9.0):
        for label in (0.0, 1.0):
            x = f if label else -f
            assert abs(_pair_loss(f, label) - np.logaddexp(0.0, -x)) < 0.01
