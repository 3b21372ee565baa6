"""Beam search against a scripted model whose next-token probabilities are written by hand.

The script maps each prefix (tuple of generated ids, BOS left out) to a distribution; tokens not
listed get probability 0 and an unlisted prefix ends the sentence (EOS with probability 1).
"""

import math

import pytest
import torch

from nlpkit.errors import ConfigError
from nlpkit.translate.beam import BeamConfig, beam_search

PAD, UNK, BOS, EOS, W1, W2 = range(6)
VOCAB = 6
L = math.log


class ScriptedModel:
    def __init__(self, scripts):
        self.scripts = scripts  # one {prefix: {token: prob}} per sentence

    def start(self, src, src_mask):
        return {"sent": src[:, 0].clone()}  # the first source id names the script

    def step(self, state, tokens):
        lprobs = torch.full((tokens.size(0), VOCAB), -math.inf)
        for row, (sent, prefix) in enumerate(zip(state["sent"].tolist(), tokens[:, 1:].tolist())):
            dist = self.scripts[sent].get(tuple(prefix), {EOS: 1.0})
            for tok, p in dist.items():
                lprobs[row, tok] = L(p)
        return lprobs, None, state

    def reorder(self, state, index):
        return {"sent": state["sent"][index]}


# Sentence 0: greedy takes W1 then stops (0.6 * 0.6 = 0.36); W2 W1 is less likely (0.4 * 0.8 * 0.95
# = 0.304) but longer, so length normalisation makes it the winner.
SENT0 = {
    (): {W1: 0.6, W2: 0.4},
    (W1,): {EOS: 0.6, W2: 0.4},
    (W2,): {W1: 0.8, EOS: 0.2},
    (W2, W1): {EOS: 0.95, W1: 0.05},
    (W1, W2): {EOS: 1.0},
}
# Sentence 1: W2 W2 (0.7 * 0.6) against W1 (0.3).
SENT1 = {
    (): {W2: 0.7, W1: 0.3},
    (W2,): {W2: 0.6, EOS: 0.4},
    (W2, W2): {EOS: 1.0},
    (W1,): {EOS: 1.0},
}


def search(scripts, **kwargs):
    n = len(scripts)
    src = torch.tensor([[i, 9, 9] for i in range(n)])
    mask = torch.ones_like(src, dtype=torch.bool)
    config = BeamConfig(**{"max_len_a": 0.0, "max_len_b": 10, **kwargs})
    return beam_search(ScriptedModel(scripts), src, mask, config, bos_id=BOS, eos_id=EOS, pad_id=PAD)


def test_exact_hypotheses_and_scores_without_length_penalty():
    hyps = search([SENT0], beam=2, nbest=2, lenpen=0.0)[0]
    assert [h.tokens for h in hyps] == [[W1], [W2, W1]]
    assert hyps[0].score == pytest.approx(L(0.6) + L(0.6))
    assert hyps[0].positional_scores == pytest.approx([L(0.6), L(0.6)])
    assert hyps[1].positional_scores == pytest.approx([L(0.4), L(0.8), L(0.95)])
    assert hyps[1].logprob == pytest.approx(L(0.304))
    assert hyps[1].length_term == 1.0


def test_length_penalty_flips_the_winner():
    hyps = search([SENT0], beam=2, nbest=2, lenpen=1.0)[0]
    # W1 ends first (0.36, length 2), but the two length-3 endings found one step later both score
    # better per token (0.304 and 0.24), so W1 is pushed out of the kept two.
    assert [h.tokens for h in hyps] == [[W2, W1], [W1, W2]]
    assert hyps[0].score == pytest.approx(L(0.304) / 3)
    assert hyps[0].length_term == 3.0
    assert hyps[1].score == pytest.approx(L(0.24) / 3)
    assert L(0.24) / 3 > L(0.36) / 2


def test_early_junk_endings_do_not_crowd_out_a_better_hypothesis():
    # The second beam ends at once with low probability twice; the best hypothesis ends later.
    script = {
        (): {W1: 0.9, W2: 0.1},
        (W1,): {W1: 0.9, EOS: 0.1},
        (W2,): {EOS: 1.0},
        (W1, W1): {W2: 0.9, EOS: 0.1},
        (W1, W1, W2): {EOS: 1.0},
    }
    hyps = search([script], beam=2, nbest=2, lenpen=1.0)[0]
    assert hyps[0].tokens == [W1, W1, W2]
    assert hyps[0].score == pytest.approx(L(0.9**3) / 4)


def test_early_stop_ends_at_the_kth_finished_hypothesis():
    # The same script: with early stopping the sentence ends once W2 EOS and W1 W1 EOS have
    # finished, before W1 W1 W2 (the exact search's winner) is reached.
    script = {
        (): {W1: 0.9, W2: 0.1},
        (W1,): {W1: 0.9, EOS: 0.1},
        (W2,): {EOS: 1.0},
        (W1, W1): {W2: 0.9, EOS: 0.1},
        (W1, W1, W2): {EOS: 1.0},
    }
    hyps = search([script], beam=2, nbest=2, lenpen=1.0, early_stop=True)[0]
    assert [h.tokens for h in hyps] == [[W1, W1], [W2]]
    assert hyps[0].score == pytest.approx(L(0.081) / 3)


def test_search_stops_once_nothing_can_beat_the_nbest_th_finished_hypothesis():
    # lenpen 0 ranks by log-probability. After step 2, W1 EOS (0.6 * 0.9 = 0.54) has finished and
    # the best active hypothesis, W2 W2 (0.4), cannot beat it: with nbest 1 the search stops there;
    # with nbest 2 it needs a second finished hypothesis and runs a third step. The best is the same.
    script = {
        (): {W1: 0.6, W2: 0.4},
        (W1,): {EOS: 0.9, W1: 0.1},
        (W2,): {W2: 1.0},
    }
    steps = {}
    for nbest in (1, 2):
        model = ScriptedModel([script])
        calls = []
        step = model.step
        model.step = lambda state, tokens: calls.append(tokens.size(1)) or step(state, tokens)
        src = torch.tensor([[0, 9, 9]])
        config = BeamConfig(beam=2, nbest=nbest, lenpen=0.0, max_len_a=0.0, max_len_b=10)
        hyps = beam_search(model, src, src.ne(PAD), config, bos_id=BOS, eos_id=EOS, pad_id=PAD)[0]
        steps[nbest] = len(calls)
        assert hyps[0].tokens == [W1] and hyps[0].score == pytest.approx(L(0.54))
    assert steps == {1: 2, 2: 3}
    assert [h.tokens for h in hyps] == [[W1], [W2, W2]] and hyps[1].score == pytest.approx(L(0.4))


def test_greedy_misses_what_beam_finds():
    greedy = search([SENT0], beam=1, lenpen=1.0)[0][0]
    assert greedy.tokens == [W1]
    beam = search([SENT0], beam=2, lenpen=1.0)[0][0]
    assert beam.score > greedy.score


def test_batch_of_two_sentences_keeps_each_script_and_order():
    hyps = search([SENT0, SENT1], beam=2, nbest=2, lenpen=1.0)
    assert [h.tokens for h in hyps[0]] == [[W2, W1], [W1, W2]]
    assert [h.tokens for h in hyps[1]] == [[W2, W2], [W1]]
    assert hyps[1][0].score == pytest.approx(L(0.42) / 3)
    assert hyps[1][1].score == pytest.approx(L(0.3) / 2)


def test_min_len_forbids_early_eos():
    hyp = search([SENT0], beam=1, min_len=2)[0][0]
    assert hyp.tokens == [W1, W2]
    assert hyp.positional_scores == pytest.approx([L(0.6), L(0.4), 0.0])


def test_max_len_forces_eos():
    hyp = search([SENT1], beam=2, max_len_b=1)[0][0]
    assert hyp.tokens == [W2]
    assert hyp.positional_scores == pytest.approx([L(0.7), 0.0])  # the forced EOS costs nothing


REPEATER = {
    (): {W1: 0.9, W2: 0.1},
    (W1,): {W1: 0.9, W2: 0.1},
    (W1, W1): {W1: 0.9, EOS: 0.1},
    (W1, W2): {EOS: 1.0},
    (W1, W1, W1): {EOS: 1.0},
}


def test_no_repeat_ngram_blocks_repeats():
    assert search([REPEATER], beam=1)[0][0].tokens == [W1, W1, W1]
    assert search([REPEATER], beam=1, no_repeat_ngram=2)[0][0].tokens == [W1, W1]
    assert search([REPEATER], beam=1, no_repeat_ngram=1)[0][0].tokens == [W1, W2]


def test_nbest_returns_at_most_nbest_sorted():
    hyps = search([SENT0], beam=2, nbest=2)[0]
    assert len(hyps) == 2 and hyps[0].score >= hyps[1].score


@pytest.mark.parametrize("kwargs", [{"beam": 0}, {"beam": 2, "nbest": 3}, {"max_len_a": 0.0, "max_len_b": 0}])
def test_bad_beam_settings(kwargs):
    with pytest.raises(ConfigError):
        BeamConfig(**kwargs)
