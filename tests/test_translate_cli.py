"""`nlpkit translate` end to end on tiny synthetic data: train, decode, eval, resume, errors."""

import json
import random

import pytest
import torch

WORDS = "eins zwei drei vier fünf sechs".split()
ENGLISH = dict(zip(WORDS, "one two three four five six".split()))


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pairs(n, seed):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        de = [rng.choice(WORDS) for _ in range(rng.randint(1, 4))]
        out.append((" ".join(ENGLISH[w] for w in de), " ".join(de)))  # English<TAB>German, like corpora/de_en
    return out


TINY = ["--d-embed", "8", "--d-hidden", "8", "--d-attn", "8", "--vocab-size", "40", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from typer.testing import CliRunner

    from nlpkit_cli.app import app

    d = tmp_path_factory.mktemp("translate")
    (d / "train.tsv").write_text("".join(f"{en}\t{de}\n" for en, de in pairs(60, 0)), encoding="utf-8")
    (d / "valid.tsv").write_text("".join(f"{en}\t{de}\n" for en, de in pairs(10, 1)), encoding="utf-8")
    test = pairs(5, 2)
    (d / "test.de").write_text("".join(de + "\n" for _, de in test), encoding="utf-8")
    (d / "test.en").write_text("".join(en + "\n" for en, _ in test), encoding="utf-8")
    args = ["translate", "train", str(d / "train.tsv"), "-o", str(d / "model"), "--src-col", "2", "--tgt-col", "1",
            "--valid", str(d / "valid.tsv"), "--epochs", "2", *TINY]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return d


def test_train_writes_an_artefact(trained):
    config = json.loads((trained / "model" / "config.json").read_text())
    assert config["kind"] == "translation"
    assert config["model"]["arch"] == "rnn-attn" and config["model"]["d_hidden"] == 8
    assert config["train"]["steps"] > 0 and config["train"]["stopped"] == "epochs"
    assert [h["epoch"] for h in config["history"]] == [1, 2] and "valid_bleu" in config["history"][0]
    assert {"model.safetensors", "src_tokenizer.json", "tgt_tokenizer.json"} <= set(config["files"])
    assert not (trained / "model" / "checkpoint.pt").exists()


def test_decode_is_the_default_command_one_line_per_input(cli, trained):
    text = "eins zwei\n\ndrei\n"
    result = cli(["translate", "-m", trained / "model", "--beam", "3"], input=text)
    assert result.exit_code == 0, result.output
    lines = result.stdout.split("\n")
    assert len(lines) == 4 and lines[1] == "" and lines[3] == ""


def test_save_load_round_trip_gives_identical_outputs(cli, trained, tmp_path):
    from nlpkit.translate.beam import BeamConfig
    from nlpkit.translate.decode import translate_lines
    from nlpkit.translate.model import load_translator, save_weights

    first = load_translator(trained / "model", "cpu")
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(trained / "model", copy)
    save_weights(first.model, copy)
    second = load_translator(copy, "cpu")
    src = torch.tensor([[5, 6, 7]])
    tgt = torch.tensor([[2, 5, 6]])
    with torch.no_grad():
        assert torch.equal(first.model(src, src.ne(0), tgt), second.model(src, src.ne(0), tgt))
    lines = ["eins zwei drei", "vier"]
    a = [t.hypotheses[0].score for t in translate_lines(first, lines, BeamConfig(beam=2))]
    b = [t.hypotheses[0].score for t in translate_lines(second, lines, BeamConfig(beam=2))]
    assert a == b
    out = cli(["translate", "decode", "-m", copy, "--beam", "2"], input="\n".join(lines) + "\n")
    expected = [t.text for t in translate_lines(first, lines, BeamConfig(beam=2))]
    assert out.stdout.splitlines() == expected


def test_jsonl_has_scores_length_term_and_attention(cli, trained):
    result = cli(["translate", "-m", trained / "model", "--beam", "2", "--nbest", "2", "-f", "jsonl", "--attention"], input="eins zwei\n")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["source"] == "eins zwei"
    hyp = record["hypotheses"][0]
    assert {"text", "tokens", "score", "logprob", "length", "length_term", "positional_scores", "attention"} <= set(hyp)
    assert len(record["hypotheses"]) == 2
    assert hyp["score"] == pytest.approx(hyp["logprob"] / hyp["length_term"], abs=1e-5)
    assert len(hyp["attention"]) == hyp["length"] and len(hyp["attention"][0]) == len(record["source_tokens"])


def test_attention_plot(cli, trained, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "attn.png"
    result = cli(["translate", "-m", trained / "model", "--attention-plot", png], input="eins zwei drei\n")
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_eval_prints_bleu_rows_with_signature_and_length_buckets(cli, trained):
    result = cli(["translate", "eval", "-m", trained / "model", "--src", trained / "test.de", "--ref", trained / "test.en", "--beam", "1,3", "-f", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["beam"] for r in data["rows"]] == [1, 3]
    assert data["rows"][0]["signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
    assert data["by_length"][0]["bucket"] == "1-5"
    text = cli(["translate", "eval", "-m", trained / "model", "--src", trained / "test.de", "--ref", trained / "test.en"])
    assert text.stdout.splitlines()[0].startswith("beam\tbleu")


def _weights(model_dir):
    from nlpkit.artifacts import load_torch_tensors

    return load_torch_tensors(model_dir)


@pytest.mark.parametrize("arch", ["rnn-attn", "transformer"])
def test_resume_after_a_kill_gives_the_same_model(cli, trained, tmp_path, monkeypatch, arch):
    from nlpkit.training.engine import Engine

    extra = ["--d-model", "8", "--n-heads", "2", "--d-ff", "8", "--n-layers", "1", "--dropout", "0.1"] if arch == "transformer" else []
    base = ["translate", "train", trained / "train.tsv", "--src-col", "2", "--tgt-col", "1", "--valid", trained / "valid.tsv",
            "--arch", arch, "--epochs", "3", "--max-tokens", "60", "--checkpoint-every", "3", "--threads", "1",
            "--scheduled-sampling", "linear", "--ss-k", "20", *TINY, *extra]
    result = cli([*base, "-o", tmp_path / "whole", "--metrics", tmp_path / "whole.jsonl", "--log-every", "2"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in (tmp_path / "whole.jsonl").read_text().splitlines()]
    logs = [r for r in records if r["event"] == "log"]
    assert {"step", "epoch", "seconds", "loss", "lr", "teacher_forcing", "tokens_per_s"} <= set(logs[0])
    # the mean teacher-forcing probability of steps 0 and 1 of the linear schedule with k = 20
    assert logs[0]["teacher_forcing"] == pytest.approx((1.0 + 0.95) / 2) and logs[-1]["teacher_forcing"] < logs[0]["teacher_forcing"]
    assert [r["epoch"] for r in records if r["event"] == "eval"] == [1, 2, 3] and "valid_bleu" in records[-1]
    steps = json.loads((tmp_path / "whole" / "config.json").read_text())["train"]["steps"]
    kill_at = steps // 3 + 4  # in the middle of epoch 2, after a checkpoint and with steps since
    real_step = Engine._step

    def dying_step(self, group):
        if self.state.step == kill_at:
            raise KeyboardInterrupt
        return real_step(self, group)

    monkeypatch.setattr(Engine, "_step", dying_step)
    job = [*base, "-o", tmp_path / "job"]
    assert cli(job).exit_code != 0
    assert (tmp_path / "job" / "checkpoint.pt").exists() and not (tmp_path / "job" / "config.json").exists()
    monkeypatch.setattr(Engine, "_step", real_step)
    line = cli(job).output
    assert "unfinished job" in line and "--resume" in line and "--force" in line
    assert "--max-tokens" in cli([*job, "--resume", "--max-tokens", "80"]).output  # its batches would differ
    assert "--d-hidden" in cli([*job, "--resume", "--d-hidden", "12"]).output
    result = cli([*job, "--resume"])
    assert result.exit_code == 0, result.output
    whole, resumed = _weights(tmp_path / "whole"), _weights(tmp_path / "job")
    assert whole.keys() == resumed.keys() and all(torch.equal(whole[k], resumed[k]) for k in whole)


def test_force_discards_a_leftover_checkpoint(cli, trained, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "checkpoint.pt").write_bytes(b"left by a killed job")
    args = ["translate", "train", trained / "train.tsv", "-o", tmp_path / "m", "--src-col", "2", "--tgt-col", "1", "--epochs", "1", *TINY]
    assert "unfinished job" in cli(args).output
    assert cli([*args, "--force"]).exit_code == 0
    assert not (tmp_path / "m" / "checkpoint.pt").exists() and (tmp_path / "m" / "config.json").exists()


@pytest.mark.parametrize(
    "content,args,message",
    [
        ("", [], "no sentence pairs"),
        ("only one column\n", [], "column"),
        ("a\tb\n", ["--src-col", "1", "--tgt-col", "1"], "--src-col"),
    ],
)
def test_bad_training_data_gives_one_line(cli, tmp_path, content, args, message):
    data = tmp_path / "d.tsv"
    data.write_text(content, encoding="utf-8")
    result = cli(["translate", "train", data, "-o", tmp_path / "m", *args, *TINY])
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert result.output.startswith("error:")


def test_beam_zero_is_an_error(cli, trained):
    result = cli(["translate", "-m", trained / "model", "--beam", "0"], input="eins\n")
    assert result.exit_code == 1
    assert "--beam must be at least 1" in result.output and len(result.output.strip().splitlines()) == 1


def test_broken_model_gives_one_line(cli, trained, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(trained / "model", broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 10)
    result = cli(["translate", "-m", broken], input="eins\n")
    assert result.exit_code == 1 and result.output.startswith("error:")
    assert len(result.output.strip().splitlines()) == 1
    missing = cli(["translate", "-m", tmp_path / "nope"], input="eins\n")
    assert missing.exit_code == 1 and "does not exist" in missing.output


@pytest.mark.parametrize("change", ["extra", "missing"])
def test_weights_must_match_the_config_exactly(cli, trained, tmp_path, change):
    import shutil

    from safetensors.torch import load_file, save_file

    model = tmp_path / "m"
    shutil.copytree(trained / "model", model)
    state = load_file(str(model / "model.safetensors"))
    if change == "extra":
        state["decoder.unexpected.weight"] = torch.zeros(2, 2)
    else:
        state.pop(sorted(state)[0])
    save_file(state, str(model / "model.safetensors"))
    config = json.loads((model / "config.json").read_text())
    config["files"]["model.safetensors"] = (model / "model.safetensors").stat().st_size  # not caught as truncation
    (model / "config.json").write_text(json.dumps(config))
    result = cli(["translate", "-m", model], input="eins\n")
    assert result.exit_code == 1 and result.output.startswith("error: cannot load") and len(result.output.strip().splitlines()) == 1


def test_rnn_without_attention_refuses_attention_plot(cli, tmp_path, trained):
    out = tmp_path / "rnn"
    args = ["translate", "train", trained / "train.tsv", "-o", out, "--arch", "rnn", "--epochs", "1", "--src-col", "2", "--tgt-col", "1", *TINY]
    assert cli(args).exit_code == 0
    result = cli(["translate", "-m", out, "--attention-plot", tmp_path / "x.png"], input="eins\n")
    assert result.exit_code == 1 and "has no attention" in result.output


def test_two_file_input_and_transformer(cli, tmp_path):
    src, tgt = tmp_path / "s.txt", tmp_path / "t.txt"
    data = pairs(30, 3)
    src.write_text("".join(de + "\n" for _, de in data), encoding="utf-8")
    tgt.write_text("".join(en + "\n" for en, _ in data), encoding="utf-8")
    out = tmp_path / "tf"
    args = ["translate", "train", "--src", src, "--tgt", tgt, "-o", out, "--arch", "transformer", "--d-model", "16",
            "--n-heads", "2", "--n-layers", "1", "--d-ff", "16", "--joint-vocab", "--share-embeddings", "--epochs", "1",
            "--scheduled-sampling", "linear", "--ss-k", "10", "--vocab-size", "40", "--device", "cpu", "--quiet"]
    result = cli(args)
    assert result.exit_code == 0, result.output
    assert (out / "tokenizer.json").exists()
    decoded = cli(["translate", "-m", out, "--beam", "2"], input="eins\nzwei drei\n")
    assert decoded.exit_code == 0 and len(decoded.stdout.splitlines()) == 2
    (tmp_path / "short.txt").write_text("x\n", encoding="utf-8")
    bad = cli(["translate", "train", "--src", src, "--tgt", tmp_path / "short.txt", "-o", tmp_path / "z", "--quiet"])
    assert bad.exit_code == 1 and "line-aligned" in bad.output


@pytest.mark.parametrize("arch", ["rnn-attn", "transformer"])
def test_scheduled_sampling_alone_feeds_model_predictions(cli, trained, tmp_path, monkeypatch, arch):
    """A spy on the input mixer: with only --scheduled-sampling, later updates must sample model tokens."""
    from nlpkit.translate import rnn, transformer

    probs = []
    real = rnn.mix_inputs

    def spy(gold, logits, gold_prob):
        probs.append(gold_prob)
        return real(gold, logits, gold_prob)

    monkeypatch.setattr(rnn, "mix_inputs", spy)
    monkeypatch.setattr(transformer, "mix_inputs", spy)
    extra = ["--d-model", "8", "--n-heads", "2", "--d-ff", "8", "--n-layers", "1"] if arch == "transformer" else []
    args = ["translate", "train", trained / "train.tsv", "-o", tmp_path / "m", "--src-col", "2", "--tgt-col", "1",
            "--arch", arch, "--epochs", "2", "--max-tokens", "40", "--scheduled-sampling", "linear", "--ss-k", "4", *TINY, *extra]
    result = cli(args)
    assert result.exit_code == 0, result.output
    # linear with k=4: 1 - i/4 at update i, down to the floor 0 (not --teacher-forcing's old default 1)
    assert probs and sorted(set(probs), reverse=True) == pytest.approx([0.75, 0.5, 0.25, 0.0])


def test_two_process_gloo_run(trained, tmp_path):
    """Two ranks with the environment torchrun sets (started directly: a launcher would cost a third torch import)."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    port = str(29500 + (os.getpid() + 7) % 2000)
    cmd = [sys.executable, "-m", "nlpkit_cli", "translate", "train", str(trained / "train.tsv"), "-o", str(tmp_path / "m"),
           "--src-col", "2", "--tgt-col", "1", "--valid", str(trained / "valid.tsv"), "--epochs", "2", "--max-tokens", "60",
           "--metrics", str(tmp_path / "m.jsonl"), "--threads", "1", *map(str, TINY)]
    procs = []
    for rank in range(2):
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port,
               "RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "2"}
        procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    evals = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines() if '"eval"' in line]
    assert [r["epoch"] for r in evals] == [1, 2]  # only rank 0 writes metrics
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["train"]["world_size"] == 2 and config["kind"] == "translation"
    assert evals[-1]["step"] == config["train"]["steps"] and not (tmp_path / "m" / "checkpoint.pt").exists()


def test_kill_9_then_resume_ends_with_the_weights_of_an_uninterrupted_run(cli, trained, tmp_path):
    """A real SIGKILL at an arbitrary moment after the first checkpoint (the killed job and its resume are fresh processes)."""
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    args = [sys.executable, "-m", "nlpkit_cli", "translate", "train", str(trained / "train.tsv"), "--src-col", "2", "--tgt-col", "1",
            "--epochs", "20", "--max-tokens", "60", "--checkpoint-every", "2", "--threads", "1", *map(str, TINY)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    whole = cli([*args[3:], "-o", tmp_path / "whole"])  # uninterrupted, in this process (saves a torch import)
    assert whole.exit_code == 0, whole.output
    job = tmp_path / "job"
    proc = subprocess.Popen([*args, "-o", str(job)], cwd=ROOT, env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (job / "checkpoint.pt").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # somewhere after the first checkpoint, perhaps while writing another
    proc.kill()
    proc.wait()
    assert proc.returncode == -9 and not (job / "config.json").exists(), "the job ended before it was killed"
    subprocess.run([*args, "-o", str(job), "--resume"], cwd=ROOT, env=env, check=True, timeout=300)
    whole, resumed = _weights(tmp_path / "whole"), _weights(job)
    assert whole.keys() == resumed.keys() and all(torch.equal(whole[k], resumed[k]) for k in whole)
