"""The CRF against brute-force enumeration: log-partition, best path, marginals, forbidden transitions."""

from __future__ import annotations

import itertools

import pytest
import torch

from nlpkit.tag.crf import CRF
from nlpkit.tag.schemes import allowed_transitions, to_spans


def brute(crf: CRF, emit: torch.Tensor, n: int) -> dict[tuple[int, ...], float]:
    """Score of every tag sequence of the first ``n`` tokens of one sentence (1, T, K)."""
    trans, start, end = (x.detach() for x in crf.scores())
    K = emit.shape[2]
    out = {}
    for ys in itertools.product(range(K), repeat=n):
        s = start[ys[0]] + end[ys[-1]] + sum(emit[0, t, y] for t, y in enumerate(ys))
        s = s + sum(trans[a, b] for a, b in zip(ys, ys[1:]))
        out[ys] = float(s)
    return out


def random_crf(k: int, seed: int, constrained: bool) -> tuple[CRF, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    tags = ["O", "B-X", "I-X", "B-Y", "I-Y"][:k]
    crf = CRF(k, *allowed_transitions(tags, "iob2")) if constrained else CRF(k)
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    emit = torch.randn(2, 4, k)  # (B, T, K)
    mask = torch.tensor([[True] * 4, [True, True, True, False]])  # the second sentence is padded
    return crf, emit, mask


@pytest.mark.parametrize("constrained", [False, True])
def test_forward_log_partition_equals_enumeration(constrained):
    crf, emit, mask = random_crf(5 if constrained else 3, 0, constrained)
    log_z = crf.log_partition(emit, mask).detach()
    for b, n in enumerate(mask.sum(1).tolist()):
        scores = torch.tensor(list(brute(crf, emit[b : b + 1], n).values()), dtype=torch.float64)
        assert float(log_z[b]) == pytest.approx(float(torch.logsumexp(scores, 0)), abs=1e-4)


@pytest.mark.parametrize("constrained", [False, True])
def test_viterbi_equals_brute_force_argmax(constrained):
    for seed in range(5):
        crf, emit, mask = random_crf(5 if constrained else 3, seed, constrained)
        paths = crf.viterbi(emit, mask)
        for b, n in enumerate(mask.sum(1).tolist()):
            scores = brute(crf, emit[b : b + 1], n)
            assert tuple(paths[b]) == max(scores, key=scores.get)
            assert len(paths[b]) == n


def test_marginals_and_gold_score_equal_enumeration():
    crf, emit, mask = random_crf(3, 1, False)
    marg = crf.marginals(emit, mask)  # (B, T, K)
    for b, n in enumerate(mask.sum(1).tolist()):
        scores = brute(crf, emit[b : b + 1], n)
        z = torch.logsumexp(torch.tensor(list(scores.values()), dtype=torch.float64), 0)
        expect = torch.zeros(n, 3, dtype=torch.float64)
        for ys, s in scores.items():
            for t, y in enumerate(ys):
                expect[t, y] += torch.exp(torch.tensor(s, dtype=torch.float64) - z)
        assert torch.allclose(marg[b, :n].double(), expect, atol=1e-5)
        gold = torch.tensor([[2, 0, 1, 1]])[:, :n]
        seq = crf.sequence_score(emit[b : b + 1, :n], gold, mask[b : b + 1, :n]).detach()
        assert float(seq) == pytest.approx(scores[tuple(gold[0].tolist())], abs=1e-4)


@pytest.mark.parametrize("scheme", ["iob1", "iob2", "iobes"])
def test_forbidden_transitions_are_never_decoded(scheme):
    prefixes = {"iob1": "BI", "iob2": "BI", "iobes": "BIES"}[scheme]
    tags = ["O"] + [f"{p}-{t}" for t in ("X", "Y") for p in prefixes]
    allowed, start, end = allowed_transitions(tags, scheme)
    crf = CRF(len(tags), allowed, start, end)
    torch.manual_seed(0)
    with torch.no_grad():
        crf.trans.copy_(torch.where(torch.tensor(allowed), -5.0, 5.0))  # learned scores that favour every forbidden move
    emit = torch.randn(64, 7, len(tags)) * 3  # (B, T, K)
    emit[:, :, 0] -= 10  # and emissions that avoid O
    mask = torch.ones(64, 7, dtype=torch.bool)
    mask[::2, 4:] = False
    for path in crf.viterbi(emit, mask):
        assert start[path[0]] and end[path[-1]]
        assert all(allowed[a][b] for a, b in zip(path, path[1:]))
    # Without the constraints the same scores decode forbidden moves: the test can fail.
    free = CRF(len(tags))
    free.load_state_dict(crf.state_dict())
    assert any(not all(allowed[a][b] for a, b in zip(p, p[1:])) for p in free.viterbi(emit, mask))


def test_iob2_constraints_match_the_chunk_reading():
    tags = ["O", "B-X", "I-X", "B-Y", "I-Y"]
    allowed, start, end = allowed_transitions(tags, "iob2")
    assert not allowed[0][2] and not allowed[3][2] and allowed[1][2] and allowed[2][2] and allowed[2][3]
    assert not start[2] and start[1] and all(end)
    assert to_spans(["B-X", "I-X", "O", "B-Y"]) == [(0, 2, "X"), (3, 4, "Y")]
