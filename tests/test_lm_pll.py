"""BERT pseudo-log-likelihood scoring through `lm score -m BERT_DIR`."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")

from nlpkit.bert.artifact import save_bert  # noqa: E402
from nlpkit.bert.model import Bert, BertConfig  # noqa: E402
from nlpkit.wordpiece import load_tokenizer  # noqa: E402
from tests.conftest import BERT_VOCAB  # noqa: E402


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    tok = load_tokenizer(BERT_VOCAB)
    model = Bert(BertConfig(vocab_size=tok.get_vocab_size(), hidden=16, layers=1, heads=2, intermediate=32,
                            dropout=0.0, max_position=16)).eval()
    out = tmp_path_factory.mktemp("bert") / "b"
    save_bert(out, model, tok)
    return out, model, tok


def _one_by_one(model, tok, text):
    """The PLL computed plainly: for each piece, a full forward pass of the sentence masked there."""
    ids = tok.encode(text).ids  # [CLS] pieces [SEP]
    mask = tok.token_to_id("[MASK]")
    total, per = 0.0, []
    for pos in range(1, len(ids) - 1):
        masked = list(ids)
        masked[pos] = mask
        with torch.no_grad():
            logits, _ = model(torch.tensor([masked]))  # (1, T, V)
        lp = torch.log_softmax(logits[0, pos].double(), -1)[ids[pos]].item() / math.log(10)
        per.append(lp)
        total += lp
    return total, per


def test_pll_equals_masked_log_probs_one_by_one(cli, bert_dir):
    out, model, tok = bert_dir
    text = "the cat sat on the mat\na tokenization\n\n" + "word " * 20 + "\n"
    r = cli(["lm", "score", "-m", out, "-f", "jsonl", "--per-token", "--batch-size", "3", "--device", "cpu"], input=text)
    assert r.exit_code == 0, r.output
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(recs) == 4
    for rec, line in zip(recs[:2], ["the cat sat on the mat", "a tokenization"]):
        total, per = _one_by_one(model, tok, line)
        assert rec["log10_prob"] == pytest.approx(total, abs=2e-5)
        assert [t["log10_prob"] for t in rec["per_token"]] == pytest.approx(per, abs=2e-5)
        assert rec["n_tokens"] == len(line.split()) and rec["text"] == line
    assert [t["token"] for t in recs[1]["per_token"]] == ["a", "token", "##ization"]
    assert "error" in recs[2] and "error" in recs[3]  # empty; longer than the positions
    assert "line 3" in r.stderr
