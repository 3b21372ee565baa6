"""Document mode for n-gram models (`lm score --context`): lines scored as one running text.

A line's first words are conditioned on the last ``order - 1`` words before it, across line
boundaries, instead of on ``<s>``: the document is ``<s> line1 line2 ...`` with no boundary
tokens inside (an n-gram model never saw ``</s> w`` in training, so a ``</s>`` in the history
would only force a back-off). Each line still ends with its own ``</s>``, scored after its
words, so records keep their schema (``tokens`` = words + 1). The rule: the scores of a line's
words equal those of the same words in the single sentence ``line1 line2 ...``; only the
``</s>`` of each line but the last is extra.
"""

from __future__ import annotations

import numpy as np

from nlpkit.lm.ngram_model import NgramModel, Scores


class DocumentScorer:
    """``model.score_lines`` for running text: call it on consecutive batches of lines."""

    def __init__(self, model: NgramModel) -> None:
        self.model = model
        self.history = np.array([model.bos_id], np.int64)  # the ids before the next line, at most order-1

    def __call__(self, lines: list[str]) -> Scores:
        m, keep = self.model, self.model.order - 1
        ids, lens = m.encode(lines)  # each line laid out as <s> words </s>
        starts = np.cumsum(lens) - lens
        segments, first = [], []
        for start, n in zip(starts.tolist(), lens.tolist()):
            words = ids[start + 1 : start + n - 1]
            segments.append(np.concatenate([self.history, words, [m.eos_id]]))
            first.append(len(self.history))
            stream = np.concatenate([self.history, words])
            self.history = stream[max(0, len(stream) - keep) :]
        seg_lens = np.array([len(s) for s in segments])
        seq = np.concatenate(segments)
        line_of = np.repeat(np.arange(len(lines)), seg_lens)
        pos = np.arange(len(seq)) - (np.cumsum(seg_lens) - seg_lens)[line_of]  # position in its segment
        lp, length = m._score_positions(seq, pos)
        target = pos >= np.array(first)[line_of]  # the line's words and its </s>, not the history
        scored = seq[target]
        return Scores(lp[target], length[target], scored == m.unk_id, line_of[target], scored)
