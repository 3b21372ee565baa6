"""`nlpkit bert pretrain`, fill-mask, embed through the CLI: metrics, exact resume, DDP, bad input."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
WORDS = "the a cat dog man woman house tree river city sat ran saw ate big small red green old new quickly slowly".split()
# A tiny vocabulary keeps every run fast; "python" etc. come out as known words too.
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", *WORDS, "python", "i", "wrote", "it", "in", "rat", "no", "mask", "here"]


def tiny(d: Path) -> list[str]:
    vocab = d / "vocab.txt"
    if not vocab.exists():
        vocab.write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return ["--tokenizer", str(vocab), *TINY]


TINY = ["--d-model", "32", "--n-layers", "2", "--n-heads", "2", "--d-ff", "64",
        "--max-seq-len", "32", "--batch-size", "4", "--warmup", "2", "--lr", "1e-3", "--log-every", "1",
        "--shuffle-buffer", "16", "--device", "cpu", "--quiet"]


def write_corpus(path: Path, docs: int = 30, seed: int = 0) -> Path:
    rng = random.Random(seed)
    lines = []
    for _ in range(docs):
        for _ in range(rng.randrange(2, 7)):
            lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 9))) + " .")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from typer.testing import CliRunner

    from nlpkit_cli.app import app

    d = tmp_path_factory.mktemp("bert")
    corpus = write_corpus(d / "corpus.txt")
    r = CliRunner().invoke(app, ["bert", "pretrain", str(corpus), "-o", str(d / "m"), "--steps", "4", "--metrics", str(d / "m.jsonl"),
                                 "--valid", str(corpus), "--eval-every", "2", "--eval-batches", "2", *tiny(d)])
    assert r.exit_code == 0, r.output
    return d


def test_pretrain_writes_artefact_and_metrics(trained):
    config = json.loads((trained / "m" / "config.json").read_text())
    assert config["kind"] == "bert" and config["model"]["hidden"] == 32 and config["train"]["steps"] == 4
    assert {"model.safetensors", "tokenizer.json", "vocab.txt"} <= set(config["files"])
    assert not (trained / "m" / "checkpoint.pt").exists()
    recs = records(trained / "m.jsonl")
    logs, evals = [r for r in recs if r["event"] == "log"], [r for r in recs if r["event"] == "eval"]
    assert [r["step"] for r in logs] == [1, 2, 3, 4] and [r["step"] for r in evals] == [2, 4]
    for key in ("loss", "mlm_accuracy", "nsp_accuracy", "tokens_per_s", "examples_per_s", "lr", "seconds"):
        assert all(isinstance(r[key], float) for r in logs), key
    assert all("valid_mlm_accuracy" in r and "valid_nsp_accuracy" in r and "valid_loss" in r for r in evals)


def test_fill_mask_jsonl_and_text(trained, cli):
    r = cli(["bert", "fill-mask", "-m", trained / "m", "the [MASK] sat .", "--topk", "3", "--format", "jsonl"])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)
    assert rec["text"] == "the [MASK] sat ." and len(rec["predictions"]) == 3
    scores = [p["score"] for p in rec["predictions"]]
    assert scores == sorted(scores, reverse=True) and 0 < sum(scores) <= 1
    r = cli(["bert", "fill-mask", "-m", trained / "m", "--topk", "2"], input="a [MASK] dog\nthe [MASK] [MASK] .\n")
    lines = r.stdout.splitlines()
    assert r.exit_code == 0 and len(lines) == 2 and len(lines[1].split("\t")) == 2  # a tab between the two [MASK]s


def test_fill_mask_without_mask_is_a_bad_line_not_an_abort(trained, cli):
    r = cli(["bert", "fill-mask", "-m", trained / "m", "-f", "jsonl"], input="a [MASK] dog\nno mask here\nthe [MASK] .\n")
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    assert r.exit_code == 0 and len(recs) == 3 and "predictions" in recs[0] and "predictions" in recs[2]
    assert recs[1] == {"text": "no mask here", "error": "no [MASK] in the line"}
    assert "warning: line 2: no [MASK]" in r.stderr
    r = cli(["bert", "fill-mask", "-m", trained / "m", "--echo"], input="no mask here\n")
    assert r.stdout == "\tno mask here\n"
    r = cli(["bert", "fill-mask", "-m", trained / "m", "--strict"], input="a [MASK] dog\nno mask here\n")
    assert r.exit_code == 1
    assert r.stderr.strip().splitlines()[-1].startswith("error: line 2: no [MASK]")


def test_embed_pools_and_context(trained, cli, tmp_path):
    text = "the python ate a rat .\nI wrote it in python .\n"
    r = cli(["bert", "embed", "-m", trained / "m", "--pool", "none", "--device", "cpu"], input=text)
    assert r.exit_code == 0, r.output
    a, b = (json.loads(x) for x in r.stdout.splitlines())
    va = np.array(a["vectors"][a["tokens"].index("python")])
    vb = np.array(b["vectors"][b["tokens"].index("python")])
    assert va.shape == (32,) and not np.allclose(va, vb, atol=1e-4)  # same word, different contexts
    r = cli(["bert", "embed", "-m", trained / "m", "--pool", "cls", "-f", "npy", "-o", tmp_path / "v.npy"], input=text)
    assert r.exit_code == 0, r.output
    assert np.load(tmp_path / "v.npy").shape == (2, 32)
    r = cli(["bert", "embed", "-m", trained / "m"], input="the python ate a rat .\n")
    assert np.allclose(json.loads(r.stdout)["vector"], json.loads(cli(["bert", "embed", "-m", trained / "m"], input="the python ate a rat .\n").stdout)["vector"])


def test_exact_resume_matches_uninterrupted_run(tmp_path, monkeypatch):
    from nlpkit.training.engine import Engine
    from nlpkit_cli.app import app
    from typer.testing import CliRunner

    corpus = write_corpus(tmp_path / "c.txt", docs=12)
    args = ["bert", "pretrain", str(corpus), "--steps", "6", "--checkpoint-every", "3", "--dropout", "0.1", "--threads", "1", *tiny(tmp_path)]
    r = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "full"), "--metrics", str(tmp_path / "full.jsonl")])
    assert r.exit_code == 0, r.output
    real_step = Engine._step

    def dying_step(self, group):
        if self.state.step == 4:
            raise KeyboardInterrupt  # killed after the step-3 checkpoint, mid-way to step 5
        real_step(self, group)

    monkeypatch.setattr(Engine, "_step", dying_step)
    r = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "cut"), "--metrics", str(tmp_path / "cut.jsonl")])
    assert r.exit_code != 0 and (tmp_path / "cut" / "checkpoint.pt").exists()
    monkeypatch.setattr(Engine, "_step", real_step)
    r = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "cut"), "--metrics", str(tmp_path / "cut.jsonl")])
    assert r.exit_code == 1 and "--resume" in r.output and "--force" in r.output  # a leftover checkpoint is not overwritten
    r = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "cut"), "--metrics", str(tmp_path / "cut.jsonl"), "--resume"])
    assert r.exit_code == 0, r.output
    full = {x["step"]: x["loss"] for x in records(tmp_path / "full.jsonl") if x["event"] == "log"}
    cut = {x["step"]: x["loss"] for x in records(tmp_path / "cut.jsonl") if x["event"] == "log"}
    assert set(cut) == {1, 2, 3, 4, 5, 6}
    for step in (4, 5, 6):
        assert cut[step] == full[step], (step, cut[step], full[step])
    import torch

    from nlpkit.artifacts import load_torch_tensors

    a, b = load_torch_tensors(tmp_path / "full"), load_torch_tensors(tmp_path / "cut")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_max_time_stops_and_publishes(tmp_path, cli):
    corpus = write_corpus(tmp_path / "c.txt", docs=6)
    args = ["bert", "pretrain", corpus, "-o", tmp_path / "m", "--steps", "50", "--metrics", tmp_path / "m.jsonl", *tiny(tmp_path)]
    r = cli([*args, "--max-time", "0.001"])
    assert r.exit_code == 0, r.output
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["train"]["stopped"] == "max-time" and config["train"]["steps"] == 1
    assert not (tmp_path / "m" / "checkpoint.pt").exists()


def test_resume_with_other_options_is_refused(tmp_path, cli, monkeypatch):
    from nlpkit.training.engine import Engine

    corpus = write_corpus(tmp_path / "c.txt", docs=6)
    args = ["bert", "pretrain", corpus, "-o", tmp_path / "m", "--steps", "4", "--checkpoint-every", "1", *tiny(tmp_path)]
    real_step = Engine._step
    monkeypatch.setattr(Engine, "_step", lambda self, group: real_step(self, group) if self.state.step < 2 else (_ for _ in ()).throw(KeyboardInterrupt))
    assert cli(args).exit_code != 0 and (tmp_path / "m" / "checkpoint.pt").exists()
    monkeypatch.setattr(Engine, "_step", real_step)
    r = cli([*args, "--resume", "--d-model", "16"])
    assert r.exit_code == 1 and "--d-model" in r.stderr
    r = cli([*args, "--resume", "--mlm-prob", "0.2"])
    assert r.exit_code == 1 and "--mlm-prob" in r.stderr
    assert cli([*args, "--resume"]).exit_code == 0


@pytest.mark.parametrize(
    "setup, extra, message",
    [
        ("empty", [], "empty"),
        ("ok", ["--tokenizer", "/nonexistent/vocab"], "does not exist"),
        ("ok", ["--d-model", "30", "--n-heads", "4"], "divisible"),
        ("ok", ["--precision", "fp16"], "CUDA"),
    ],
)
def test_bad_input_is_one_line(tmp_path, cli, setup, extra, message):
    corpus = tmp_path / "c.txt"
    if setup == "empty":
        corpus.write_text("\n  \n")
    else:
        write_corpus(corpus, docs=4)
    r = cli(["bert", "pretrain", corpus, "-o", tmp_path / "m", "--steps", "1", *tiny(tmp_path), *extra])
    assert r.exit_code == 1, r.output
    err = r.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0], err


def test_two_process_gloo_run(tmp_path):
    """Two ranks with the environment torchrun sets (started directly: a launcher would cost a third torch import)."""
    corpus = write_corpus(tmp_path / "c.txt", docs=20)
    port = str(29500 + os.getpid() % 2000)
    cmd = [sys.executable, "-m", "nlpkit_cli", "bert", "pretrain", str(corpus), "-o", str(tmp_path / "m"), "--steps", "3",
           "--metrics", str(tmp_path / "m.jsonl"), "--threads", "1", *tiny(tmp_path)]
    procs = []
    for rank in range(2):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port,
               "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2"}
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    recs = [r for r in records(tmp_path / "m.jsonl") if r["event"] == "log"]
    assert [x["step"] for x in recs] == [1, 2, 3]  # only rank 0 writes metrics
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["kind"] == "bert" and config["train"]["world_size"] == 2


@pytest.mark.slow
def test_mlm_and_nsp_are_learned_on_topical_documents(tmp_path, cli):
    """Four topics with disjoint words: MLM must beat uniform guessing within a topic and NSP must
    notice when B comes from a document of another topic (ceiling 0.75: a random document shares
    A's topic a quarter of the time)."""
    rng = random.Random(0)
    topics = [[f"{t}{i}" for i in range(10)] for t in "abcd"]
    (tmp_path / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "."] + [w for t in topics for w in t]) + "\n")
    lines = []
    for d in range(400):
        lines += [" ".join(rng.choice(topics[d % 4]) for _ in range(rng.randrange(3, 7))) + " ." for _ in range(6)] + [""]
    (tmp_path / "c.txt").write_text("\n".join(lines))
    r = cli(["bert", "pretrain", tmp_path / "c.txt", "-o", tmp_path / "m", "--tokenizer", tmp_path / "vocab.txt", "--d-model", "32",
             "--n-layers", "2", "--n-heads", "2", "--d-ff", "64", "--max-seq-len", "32", "--batch-size", "32", "--lr", "2e-3",
             "--warmup", "10", "--steps", "300", "--log-every", "50", "--threads", "1", "--quiet", "--metrics", tmp_path / "m.jsonl"])
    assert r.exit_code == 0, r.output
    last = [r for r in records(tmp_path / "m.jsonl") if r["event"] == "log"][-1]
    assert last["mlm_accuracy"] > 0.15  # uniform over a topic's 10 words + "." would be about 0.09
    assert last["nsp_accuracy"] > 0.65
