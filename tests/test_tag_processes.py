"""`nlpkit tag train` as separate processes: kill -9 then --resume, and two gloo ranks as torchrun starts them."""

from __future__ import annotations

import json
import subprocess
import time

from tests.test_tag_train import sentences, write_conll
from tests.test_training_processes import ROOT, env, nlpkit, records, run_ranks, same_weights

ARGS = ["--d-model", "8", "--d-hidden", "8", "--char-dim", "4", "--batch-size", "4", "--valid-fraction", "0.2",
        "--threads", "1", "--device", "cpu", "-q"]


def test_kill_9_then_resume_ends_with_the_weights_of_an_uninterrupted_run(tmp_path):
    data = write_conll(tmp_path / "d.txt", sentences() * 2)  # 16 training sentences: 4 batches an epoch
    args = ["tag", "train", data, *ARGS, "--epochs", "60", "--checkpoint-every", "3", "--patience", "0"]
    subprocess.run(nlpkit(*args, "-o", tmp_path / "whole"), cwd=ROOT, env=env(), check=True, timeout=300)
    job = tmp_path / "job"
    proc = subprocess.Popen(nlpkit(*args, "-o", job), cwd=ROOT, env=env(), stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (job / "checkpoint.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.05)  # somewhere after the first checkpoint, perhaps in the middle of an epoch or of writing another
    proc.kill()
    proc.wait()
    assert proc.returncode == -9 and not (job / "config.json").exists(), "the job ended before it was killed"
    subprocess.run(nlpkit(*args, "-o", job, "--resume"), cwd=ROOT, env=env(), check=True, timeout=300)
    assert same_weights(tmp_path / "whole", job)


def test_two_gloo_ranks_split_the_batches_and_rank_0_writes(tmp_path):
    data = write_conll(tmp_path / "d.txt", sentences() * 2)  # 16 training sentences: 4 batches, 2 per rank
    out, metrics = tmp_path / "m", tmp_path / "m.jsonl"
    run_ranks(nlpkit("tag", "train", data, "-o", out, *ARGS, "--epochs", "2", "--log-every", "1", "--metrics", metrics))
    train = json.loads((out / "config.json").read_text())["train"]
    assert train["world_size"] == 2 and train["steps"] == 4
    recs = records(metrics)
    assert [r["step"] for r in recs if r["event"] == "log"] == [1, 2, 3, 4]
    assert [r["epoch"] for r in recs if r["event"] == "eval"] == [1, 2] and all("valid_f1" in r for r in recs if r["event"] == "eval")
