"""Issue 16, points 1-2 (and issue 11's "never lose a model"): output directories are never
lost or clobbered, crashes leave the old or the new model, leftovers are cleaned, SIGTERM is Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nlpkit import artifacts
from nlpkit.artifacts import artifact_writer, read_config, write_config
from nlpkit.errors import ArtifactError

ROOT = Path(__file__).resolve().parent.parent
PTB = ROOT / "corpora" / "ptb" / "ptb.valid.txt.gz"
BERT_VOCAB = ROOT / "corpora" / "bert_vocab" / "vocab.txt"


def tree(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` with its bytes (what the user would lose)."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def one_line(result) -> str:
    err = result.stderr.strip()
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


def _toy(out: Path, value: float, force: bool = True, extra: dict | None = None) -> None:
    from safetensors.numpy import save_file

    with artifact_writer(out, force=force) as tmp:
        save_file({"w": np.full((2,), value, np.float32)}, str(tmp / "model.safetensors"))
        for name, text in (extra or {}).items():
            (tmp / name).write_text(text)
        write_config(tmp, "toy", model={"v": value})


def _value(out: Path) -> float:
    from nlpkit.artifacts import load_numpy_tensors

    read_config(out, {"toy": 1})
    return float(load_numpy_tensors(out, "model.safetensors")["w"][0])


# --- 1. foreign directories are refused and untouched -------------------------------------------


def test_a_project_with_its_own_config_json_is_refused_and_untouched(cli, tmp_path):
    proj = tmp_path / "myproj"
    (proj / "src").mkdir(parents=True)
    (proj / "config.json").write_text('{"name":"app"}')
    (proj / "notes.txt").write_text("precious")
    before = tree(proj)
    err = one_line(cli(["lm", "train", PTB, "-o", proj, "--order", "2", "--quiet"]))
    assert "config.json that is not an nlpkit model" in err and "notes.txt" in err
    assert tree(proj) == before and sorted(p.name for p in tmp_path.iterdir()) == ["myproj"]


def test_a_huggingface_directory_and_a_lightning_checkpoint_are_refused(cli, tmp_path):
    hf = tmp_path / "hfmodel"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 8}))
    (hf / "README.md").write_text("model card")
    vec = tmp_path / "v.vec"
    vec.write_text("2 2\nhello 1 0\nworld 0 1\n")
    before = tree(hf)
    assert "not an nlpkit model" in one_line(cli(["embed", "import", vec, "-o", hf]))
    assert tree(hf) == before
    pl = tmp_path / "lightning"
    pl.mkdir()
    (pl / "checkpoint.pt").write_bytes(b"PK\x03\x04 lightning")
    (pl / "results.csv").write_text("epoch,loss\n1,0.5\n")
    before = tree(pl)
    err = one_line(cli(["tokenize", "train", PTB, "-o", pl, "--vocab-size", "200", "--quiet"]))
    assert "results.csv" in err and tree(pl) == before


def test_bert_import_refuses_to_overwrite_the_huggingface_source(tmp_path):
    from nlpkit.bert.hf import import_hf

    hfx = tmp_path / "hfx"
    hfx.mkdir()
    (hfx / "config.json").write_text(json.dumps({"model_type": "bert"}))
    (hfx / "README.md").write_text("card")
    before = tree(hfx)
    with pytest.raises(ArtifactError, match="not an nlpkit model"):
        import_hf(hfx, hfx)
    assert tree(hfx) == before


def test_another_kind_is_refused_always_and_the_same_kind_needs_force(cli, tmp_path):
    lm = tmp_path / "lm"
    assert cli(["lm", "train", PTB, "-o", lm, "--order", "2", "--quiet"]).exit_code == 0
    before = tree(lm)
    err = one_line(cli(["tokenize", "train", PTB, "-o", lm, "--vocab-size", "200", "--force", "--quiet"]))
    assert "holds a ngram_lm model, not a wordpiece model" in err
    assert tree(lm) == before
    tok = tmp_path / "tok"
    assert cli(["tokenize", "train", PTB, "-o", tok, "--vocab-size", "200", "--quiet"]).exit_code == 0
    err = one_line(cli(["tokenize", "train", PTB, "-o", tok, "--vocab-size", "300", "--quiet"]))
    assert "already holds a finished wordpiece model" in err and "--force" in err
    assert read_config(tok)["model"]["vocab_size"] == 200
    assert cli(["tokenize", "train", PTB, "-o", tok, "--vocab-size", "300", "--force", "--quiet"]).exit_code == 0
    assert read_config(tok)["model"]["vocab_size"] == 300


def test_user_files_in_a_model_directory_are_kept_and_stale_model_files_go(cli, tmp_path):
    out = tmp_path / "tok"
    assert cli(["tokenize", "train", PTB, "-o", out, "--vocab-size", "200", "--quiet"]).exit_code == 0
    (out / "eval_results.txt").write_text("f1 0.9")
    (out / "plots").mkdir()
    (out / "plots" / "loss.png").write_bytes(b"\x89PNG")
    (out / "checkpoint.pt").write_bytes(b"old working file")
    assert cli(["tokenize", "train", PTB, "-o", out, "--vocab-size", "300", "--force", "--quiet"]).exit_code == 0
    assert (out / "eval_results.txt").read_text() == "f1 0.9" and (out / "plots" / "loss.png").exists()
    assert not (out / "checkpoint.pt").exists()
    assert read_config(out, {"wordpiece": 1})["model"]["vocab_size"] == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tok"]  # no temporary or journal left


def test_a_user_file_with_a_model_file_name_is_not_overwritten(tmp_path):
    out = tmp_path / "m"
    _toy(out, 1.0)
    (out / "README.md").write_text("mine")
    with pytest.raises(ArtifactError, match="README.md"):
        _toy(out, 2.0, extra={"README.md": "generated"})
    assert (out / "README.md").read_text() == "mine" and _value(out) == 1.0


def test_writing_into_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _toy(Path("."), 1.0)
    _toy(Path("."), 2.0)
    assert _value(tmp_path) == 2.0
    assert not list(tmp_path.parent.glob(f".{tmp_path.name}.*-*"))


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        _toy(tmp_path / "m", 1.0)
        artifacts.save_checkpoint(tmp_path / "m", {"step": 1})
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "m").iterdir()}
    assert stat.S_IMODE((tmp_path / "m").stat().st_mode) == 0o755
    assert modes == {"model.safetensors": 0o644, "config.json": 0o644, "checkpoint.pt": 0o644}


# --- 1. publishing: a crash leaves the old model or the new one ----------------------------------


def test_a_failure_between_publish_steps_rolls_back_to_the_old_model(tmp_path, monkeypatch):
    out = tmp_path / "m"
    _toy(out, 1.0, extra={"vocab.txt": "old"})
    real = os.replace
    calls = []

    def flaky(src, dst):
        if Path(dst).parent == out:  # the publish steps, not the temporary files
            calls.append(dst)
            if len(calls) == 2:
                raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(artifacts.os, "replace", flaky)
    with pytest.raises(OSError):
        _toy(out, 2.0, extra={"vocab.txt": "new"})
    monkeypatch.setattr(artifacts.os, "replace", real)
    assert _value(out) == 1.0 and (out / "vocab.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


KILL_DURING_PUBLISH = """
import os, sys
import numpy as np
from nlpkit import artifacts
sys.path.insert(0, {tests!r})
from test_faults_outputs import _toy
real, n = os.replace, [0]
def dying(src, dst):
    real(src, dst)
    if os.path.dirname(dst) == {out!r}:
        n[0] += 1
        if n[0] == {die_at}:
            os._exit(9)  # as kill -9, right after this publish step
artifacts.os.replace = dying
_toy(artifacts.Path({out!r}), 2.0, extra={{"vocab.txt": "new"}})
"""


@pytest.mark.parametrize(("die_at", "expected"), [(1, 1.0), (2, 1.0), (3, 2.0)])
def test_a_kill_during_publish_is_undone_or_completed_by_the_next_job(tmp_path, die_at, expected):
    # Files are replaced in the order model.safetensors, vocab.txt, config.json (the commit):
    # dying after the first or second is before the commit, after the third is after it.
    out = tmp_path / "m"
    _toy(out, 1.0, extra={"vocab.txt": "old"})
    code = KILL_DURING_PUBLISH.format(tests=str(ROOT / "tests"), die_at=die_at, out=str(out))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True)
    assert proc.returncode == 9, proc.stderr
    assert list(tmp_path.glob(".m.old-*"))  # the journal of the dead publish
    from nlpkit.locking import output_lock

    with output_lock(out):  # the next job on this output
        pass
    assert _value(out) == expected
    assert (out / "vocab.txt").read_text() == ("old" if expected == 1.0 else "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


# --- 2. leftovers of killed jobs ----------------------------------------------------------------


def test_leftovers_of_dead_jobs_are_cleaned_by_the_next_run(cli, tmp_path):
    out = tmp_path / "lm"
    half = tmp_path / ".lm.tmp-99999-abcd1234"
    half.mkdir()
    (half / "model.arpa").write_text("\\data\\\nngram 1=")
    (tmp_path / ".lm.stdin-99999-q1w2e3r4").write_text("a copy of the corpus\n")
    (tmp_path / ".lm.stdin-zx81yy12").write_text("older style copy\n")
    (tmp_path / ".lmx.tmp-99999-abcd1234").mkdir()  # another output's: not ours to touch
    assert cli(["lm", "train", PTB, "-o", out, "--order", "2", "--quiet"]).exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [".lmx.tmp-99999-abcd1234", "lm"]


def test_temporary_files_inside_a_resume_directory_are_cleaned(tmp_path):
    out = tmp_path / "job"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"kept")
    (out / ".checkpoint.pt.tmp-99999-abcd1234").write_bytes(b"half")
    (out / ".notes.tmp-20240101").write_text("a user's file that merely looks temporary")
    (out / ".checkpoint.pt.a1b2c3d4").write_bytes(b"half, older naming")
    from nlpkit.locking import output_lock

    with output_lock(out):
        pass
    assert sorted(p.name for p in out.iterdir()) == [".notes.tmp-20240101", "checkpoint.pt"]


def _nlpkit(*args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "nlpkit_cli", *args], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    proc = _nlpkit("tokenize", "encode", "-m", str(BERT_VOCAB), "--line-buffered")
    proc.stdin.write(b"hello world\n")
    proc.stdin.flush()
    assert proc.stdout.readline() == b"hello world\n"  # running, and waiting for the next line
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.decode().strip().splitlines()[-1] == "terminated"


SIGTERM_AFTER_CHECKPOINT = """
import os, signal, sys
from nlpkit.embeddings import word2vec
real = word2vec.save_checkpoint
def save_then_term(*a, **k):
    real(*a, **k)
    os.kill(os.getpid(), signal.SIGTERM)  # as a scheduler's kill, right after a checkpoint
word2vec.save_checkpoint = save_then_term
sys.argv = ["nlpkit"] + sys.argv[1:]
from nlpkit_cli.app import main
main()
"""


def test_sigterm_keeps_a_resumable_stdin_job(tmp_path):
    sys.path.insert(0, str(ROOT / "tests"))
    from test_embed_train import write_corpus

    corpus = write_corpus(tmp_path / "c.txt", sentences=600).read_bytes()
    out = tmp_path / "vec"
    args = ["embed", "train", "-", "-o", str(out), "--dim", "8", "--min-count", "1", "--epochs", "2", "--sample", "0",
            "--threads", "1", "--device", "cpu", "--checkpoint-every", "2000", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    first = subprocess.run([sys.executable, "-c", SIGTERM_AFTER_CHECKPOINT, *args], input=corpus, cwd=ROOT, env=env,
                           capture_output=True, timeout=120)
    assert first.returncode == 143, first.stderr
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "stdin.spool"]
    assert not list(tmp_path.glob(".vec.*-*"))
    second = subprocess.run([sys.executable, "-m", "nlpkit_cli", *args, "--resume"], input=b"", cwd=ROOT, env=env,
                            capture_output=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "vectors.safetensors", "vocab.tsv"]
    from nlpkit.embeddings.vectors import WordVectors

    assert len(WordVectors.load(out)) == 24  # every word of the corpus: the spooled copy was read


def test_exported_files_follow_the_umask(cli, tmp_path):
    vec = tmp_path / "v.vec"
    vec.write_text("2 2\nhello 1 0\nworld 0 1\n")
    old = os.umask(0o027)
    try:
        assert cli(["embed", "import", vec, "-o", tmp_path / "v"]).exit_code == 0
        assert cli(["embed", "export", "-m", tmp_path / "v", "-o", tmp_path / "out.txt"]).exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "v").stat().st_mode) == 0o750
    assert {stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "v").iterdir()} == {0o640}


def test_a_model_left_aside_by_an_older_publish_is_restored(tmp_path):
    from nlpkit.locking import output_lock

    out = tmp_path / "m"
    _toy(out, 1.0)
    aside = tmp_path / ".m.old-k2j4h5g6"
    aside.mkdir()
    os.rename(out, aside / "m")  # killed between the two renames of the old publish
    with output_lock(out):
        pass
    assert _value(out) == 1.0 and sorted(p.name for p in tmp_path.iterdir()) == ["m"]
