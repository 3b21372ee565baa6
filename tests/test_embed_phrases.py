"""Phrase learning: hand-counted scores, greedy joining, passes, pruning, the CLI, real text."""

from __future__ import annotations

import json
import math
import random

import pytest

from nlpkit.embeddings.phrases import (
    Phraser,
    PhrasesConfig,
    count_pairs,
    find_phrases,
    join_pairs,
    learn_phrases,
    score,
    train_phrases,
)
from nlpkit.errors import ConfigError
from tests.conftest import CORPORA

# counts by hand: a 3, b 3, c 2, d 1; pairs "a b" 3, "b c" 1, "b d" 1, "c a" 1;
# |V| = 4 unigrams + 4 pairs = 8 entries, N = 9 words
ABC = ["a b c", "a b d", "c a b"]


def _counts():
    return count_pairs(line.split() for line in ABC)


def test_counts_by_hand():
    counts, words, prune = _counts()
    assert words == 9 and len(counts) == 8 and prune == 1
    assert (counts["a"], counts["b"], counts["c"], counts["d"]) == (3, 3, 2, 1)
    assert (counts["a b"], counts["b c"], counts["b d"], counts["c a"]) == (3, 1, 1, 1)


def test_default_score_by_hand():
    # (c(ab) - delta) / (c(a) c(b)) x |V|, delta = min_count
    assert score("default", 3, 3, 3, 8, 9, 1) == pytest.approx(2 / 9 * 8)  # a b: 1.778
    assert score("default", 3, 2, 1, 8, 9, 1) == 0.0  # b c: seen once, minus delta 1
    counts, words, _ = _counts()
    found = find_phrases(counts, words, PhrasesConfig(min_count=1, threshold=1.5))
    assert list(found) == [("a", "b")] and found[("a", "b")] == (pytest.approx(16 / 9), 3)
    assert find_phrases(counts, words, PhrasesConfig(min_count=1, threshold=1.8)) == {}  # strictly above


def test_npmi_score_by_hand():
    # ln(p(ab) / (p(a) p(b))) / -ln p(ab)
    assert score("npmi", 3, 3, 3, 8, 9, 1) == pytest.approx(1.0)  # a b: always together
    assert score("npmi", 3, 1, 1, 8, 9, 1) == pytest.approx(math.log(3) / math.log(9))  # b d: 0.5
    assert score("npmi", 3, 2, 1, 8, 9, 1) == pytest.approx(math.log(1.5) / math.log(9))  # b c: 0.185
    assert score("npmi", 3, 2, 1, 8, 9, 2) == -math.inf  # below min_count
    counts, words, _ = _counts()
    found = find_phrases(counts, words, PhrasesConfig(scoring="npmi", min_count=1, threshold=0.4))
    assert sorted(found) == [("a", "b"), ("b", "d")]
    assert PhrasesConfig(scoring="npmi").threshold == 0.5 and PhrasesConfig().threshold == 10.0


def test_greedy_joining_from_the_left():
    pairs = {("a", "b"), ("b", "c")}
    assert join_pairs("a b c".split(), pairs) == ["a_b", "c"]
    assert join_pairs("x b c a b".split(), pairs) == ["x", "b_c", "a_b"]
    assert join_pairs(["a"], pairs) == ["a"] and join_pairs([], pairs) == []


def test_second_pass_builds_three_word_phrases():
    # pass 1 (hand): new 7, york 7, times 5, |V| 5: new york (7-1)/49*5 = 0.61, york times (5-1)/35*5 = 0.57
    # pass 2 on "new_york times": |V| 3, (5-1)/35*3 = 0.34 > 0.3
    lines = ["new york times"] * 5 + ["new york"] * 2
    phraser, stats = learn_phrases(lambda: iter(lines), PhrasesConfig(min_count=1, threshold=0.3, passes=2))
    assert [p["phrases"] for p in stats["passes"]] == [2, 1]
    assert phraser.apply("the new york times said") == "the new_york_times said"
    one, _ = learn_phrases(lambda: iter(lines), PhrasesConfig(min_count=1, threshold=0.3, passes=1))
    assert one.apply("the new york times said") == "the new_york times said"


def test_count_table_is_pruned_when_full():
    # by hand: a, b, "a b" (3 entries); w0 w1 w2 -> 6 > 5: drop counts < 2; w3 w4 w5: drop < 3; w6 w7 w8: drop < 4
    sentences = [["a", "b"]] * 5 + [[f"w{i}"] for i in range(10)]
    counts, words, prune = count_pairs(sentences, max_vocab=5)
    assert words == 20 and prune == 4
    assert dict(counts) == {"a": 5, "b": 5, "a b": 5, "w9": 1}


def test_config_errors():
    with pytest.raises(ConfigError, match="scoring"):
        PhrasesConfig(scoring="pmi")
    with pytest.raises(ConfigError, match="delimiter"):
        PhrasesConfig(delimiter=" ")


def test_save_load_round_trip(tmp_path):
    src = tmp_path / "c.txt"
    src.write_text("\n".join(["new york times"] * 5 + ["new york"] * 2) + "\n")
    stats = train_phrases([str(src)], tmp_path / "p", PhrasesConfig(min_count=1, threshold=0.3, passes=2))
    assert stats["phrases"] == 3
    loaded = Phraser.load(tmp_path / "p")
    assert loaded.cfg.passes == 2 and loaded.cfg.threshold == 0.3 and len(loaded) == 3
    assert loaded.apply("new york times") == "new_york_times"
    assert (tmp_path / "p" / "phrases.tsv").read_text().splitlines()[0].split("\t")[:3] == ["1", "new", "york"]


def test_cli_learns_and_rewrites_line_by_line(cli, tmp_path):
    src = tmp_path / "c.txt"
    src.write_text("\n".join(["New York is big", "I like New York", "new york"] * 4) + "\n")
    r = cli(["embed", "phrases", src, "-o", tmp_path / "p", "--min-count", "2", "--threshold", "0.5", "--lowercase"])
    # by hand: |V| 11, new york (12-2)/144*11 = 0.76 and is big, i like 1.375 qualify; york is, like new 0.46 do not
    assert r.exit_code == 0, r.output
    r = cli(["embed", "phrases", "-m", tmp_path / "p"], input="we saw New York\n\nyork new york\n")
    assert r.exit_code == 0, r.output
    assert r.stdout == "we saw new_york\n\nyork new_york\n"  # one line out per line in, blank kept
    r = cli(["embed", "phrases", src])
    assert r.exit_code == 1 and "either -o PHRASES" in r.output


def test_train_applies_phrases_on_the_fly(cli, tmp_path):
    rng = random.Random(0)
    fillers = [f"w{i}" for i in range(40)]
    lines = []
    for _ in range(60):  # "new york" in varied company: only it repeats as a pair
        words = rng.sample(fillers, 5)
        words.insert(rng.randrange(6), "new york")
        lines.append(" ".join(words))
    src = tmp_path / "c.txt"
    src.write_text("\n".join(lines) + "\n")
    assert cli(["embed", "phrases", src, "-o", tmp_path / "p", "--min-count", "3", "--threshold", "1"]).exit_code == 0
    assert [p for pairs in Phraser.load(tmp_path / "p").passes for p in pairs] == [("new", "york")]
    r = cli(["embed", "train", src, "-o", tmp_path / "m", "--phrases", tmp_path / "p", "--min-count", "1", "--dim", "8",
             "--epochs", "1", "--threads", "1", "--device", "cpu", "--checkpoint-every", "0", "-q"])
    assert r.exit_code == 0, r.output
    words = (tmp_path / "m" / "vocab.tsv").read_text()
    assert "new_york\t60\n" in words and "\nnew\t" not in words and not words.startswith("new\t")
    assert json.loads((tmp_path / "m" / "config.json").read_text())["data"]["phrases"] == str(tmp_path / "p")


@pytest.mark.slow
def test_real_collocations_on_ptb(tmp_path):
    stats = train_phrases([str(CORPORA / "ptb" / "ptb.train.txt.gz")], tmp_path / "p", PhrasesConfig())
    phraser = Phraser.load(tmp_path / "p")
    found = set(phraser.passes[0])
    assert stats["passes"][0]["words"] == 212247
    assert {("new", "york"), ("united", "states"), ("wall", "street"), ("los", "angeles"), ("vice", "president")} <= found
    function = {"the", "of", "a", "and", "to", "in", "is", "it", "that", "for", "on", "was", "'s"}
    assert not [p for p in found if p[0] in function and p[1] in function]
    assert phraser.apply("shares of new york stock exchange firms rose") == "shares of new_york stock_exchange firms rose"
