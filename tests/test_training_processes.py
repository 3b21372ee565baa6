"""The engine across processes: kill -9 then --resume, and two gloo ranks as torchrun starts them.

Each test starts fresh Python processes (the CLI as a user runs it), so they cost a few seconds of
torch imports each; the ranks are started directly with the environment torchrun sets (a launcher
would cost a third import).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import interruptible
from tests.test_classify_train import word_order_rows, write_tsv

ROOT = Path(__file__).resolve().parent.parent
LM_TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\nthe mat is red\n" * 6


def nlpkit(*args: object) -> list[str]:
    return [sys.executable, "-m", "nlpkit_cli", *(str(a) for a in args)]


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), **extra}


def weights(model_dir: Path) -> dict:
    from nlpkit.artifacts import load_torch_tensors

    return load_torch_tensors(model_dir)


def same_weights(a: Path, b: Path) -> bool:
    import torch

    x, y = weights(a), weights(b)
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def test_kill_9_then_resume_ends_with_the_weights_of_an_uninterrupted_run(tmp_path):
    data = write_tsv(tmp_path / "d.tsv", word_order_rows() * 2)
    args = ["classify", "train", data, "--arch", "bilstm", "--d-model", "8", "--d-hidden", "8", "--min-count", "1",
            "--epochs", "120", "--batch-size", "8", "--checkpoint-every", "3", "--valid-fraction", "0.2", "--patience", "0",
            "--threads", "1", "--device", "cpu", "-q"]
    subprocess.run(nlpkit(*args, "-o", tmp_path / "whole"), cwd=ROOT, env=env(), check=True, timeout=300)
    job = tmp_path / "job"
    proc = subprocess.Popen(nlpkit(*args, "-o", job), cwd=ROOT, env=env(), stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (job / "checkpoint.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.05)  # somewhere after the first checkpoint, perhaps in the middle of writing another
    proc.kill()
    proc.wait()
    assert proc.returncode == -9 and not (job / "config.json").exists(), "the job ended before it was killed"
    refused = subprocess.run(nlpkit(*args, "-o", job), cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300)
    assert refused.returncode == 1 and "--resume" in refused.stderr and "--force" in refused.stderr
    subprocess.run(nlpkit(*args, "-o", job, "--resume"), cwd=ROOT, env=env(), check=True, timeout=300)
    assert same_weights(tmp_path / "whole", job)


@pytest.mark.parametrize("sig,code", [("SIGTERM", 143), ("SIGINT", 130)])
def test_a_signal_checkpoints_at_a_step_boundary_and_resume_is_exact(tmp_path, sig, code):
    """SIGTERM (and Ctrl-C) finish the step, write a checkpoint, exit 143 (130); --resume ends as an unbroken run."""
    import signal

    data = write_tsv(tmp_path / "d.tsv", word_order_rows() * 2)
    args = ["classify", "train", data, "--arch", "bilstm", "--d-model", "8", "--d-hidden", "8", "--min-count", "1",
            "--epochs", "120", "--batch-size", "8", "--checkpoint-every", "0", "--valid-fraction", "0.2", "--patience", "0",
            "--threads", "1", "--device", "cpu", "--log-every", "1"]
    subprocess.run(nlpkit(*args, "-o", tmp_path / "whole", "-q"), cwd=ROOT, env=env(), check=True, timeout=300)
    job, metrics = tmp_path / "job", tmp_path / "m.jsonl"
    proc = subprocess.Popen(nlpkit(*args, "-o", job, "--metrics", metrics), cwd=ROOT, env=env(), stderr=subprocess.PIPE, text=True,
                            preexec_fn=interruptible)
    deadline = time.monotonic() + 120
    while (not metrics.exists() or metrics.stat().st_size == 0) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # training has started once the first step is logged
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err[-2000:]
    assert (job / "checkpoint.pt").exists() and not (job / "config.json").exists(), err[-2000:]
    assert "Traceback" not in err and "writing a checkpoint" in err
    subprocess.run(nlpkit(*args, "-o", job, "--resume", "-q"), cwd=ROOT, env=env(), check=True, timeout=300)
    assert same_weights(tmp_path / "whole", job)


def run_ranks(cmd: list[str], n: int = 2) -> None:
    port = str(29500 + os.getpid() % 2000)
    procs = []
    for rank in range(n):
        rank_env = env(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, RANK=str(rank), LOCAL_RANK=str(rank),
                       WORLD_SIZE=str(n), LOCAL_WORLD_SIZE=str(n))
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=rank_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("family", ["classify", "lm"])
def test_two_gloo_ranks_split_the_batches_and_rank_0_writes(tmp_path, family):
    if family == "classify":
        data = write_tsv(tmp_path / "d.tsv", word_order_rows() * 2)  # 36 examples: 5 batches of 8
        args = ["classify", "train", data, "--arch", "avg", "--min-count", "1", "--batch-size", "8", "--valid-fraction", "0.2"]
    else:
        data = tmp_path / "t.txt"
        data.write_text(LM_TEXT)  # 24 sentences: 6 batches of 4
        args = ["lm", "train", data, "--arch", "gru", "--d-model", "8", "--d-hidden", "8", "--n-layers", "1",
                "--batch-size", "4", "--valid", data]
    out, metrics = tmp_path / "m", tmp_path / "m.jsonl"
    run_ranks(nlpkit(*args, "-o", out, "--epochs", "2", "--log-every", "1", "--metrics", metrics, "--threads", "1", "--device", "cpu"))
    config = json.loads((out / "config.json").read_text())
    train = config["train"]
    per_rank = 2 if family == "classify" else 3  # 5 batches: 2 each (the odd one left out); 6 batches: 3 each
    assert train["world_size"] == 2 and train["steps"] == 2 * per_rank
    recs = records(metrics)
    assert [r["step"] for r in recs if r["event"] == "log"] == list(range(1, 2 * per_rank + 1))  # rank 0 only
    assert [r["epoch"] for r in recs if r["event"] == "eval"] == [1, 2]
    assert not (out / "checkpoint.pt").exists()
