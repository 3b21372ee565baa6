import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from nlpkit.artifacts import artifact_writer, load_checkpoint, load_numpy_tensors, read_config, save_checkpoint, write_config
from nlpkit.errors import ArtifactError, LockError
from nlpkit.locking import lock_path, output_lock


def _write(out, value=1.0, kind="toy", force=True):
    from safetensors.numpy import save_file

    with artifact_writer(out, force=force) as tmp:
        save_file({"w": np.full((2, 3), value, dtype=np.float32)}, str(tmp / "model.safetensors"))
        write_config(tmp, kind, model={"dim": 3}, train={"lr": 0.1}, data={"lines": 2})


def test_write_then_read_round_trip(tmp_path):
    out = tmp_path / "model"
    _write(out)
    config = read_config(out, {"toy": 1})
    assert config["kind"] == "toy" and config["format_version"] == 1
    assert config["model"] == {"dim": 3} and config["train"] == {"lr": 0.1} and config["data"] == {"lines": 2}
    assert config["files"]["model.safetensors"] == (out / "model.safetensors").stat().st_size
    assert "nlpkit_version" in config
    np.testing.assert_array_equal(load_numpy_tensors(out, "model.safetensors")["w"], np.ones((2, 3), np.float32))


def test_a_failed_write_leaves_the_old_artifact_and_no_temporary_files(tmp_path):
    out = tmp_path / "model"
    _write(out, 1.0)
    with pytest.raises(RuntimeError, match="boom"):
        with artifact_writer(out, force=True) as tmp:
            (tmp / "model.safetensors").write_bytes(b"half")
            raise RuntimeError("boom")
    assert load_numpy_tensors(out, "model.safetensors")["w"][0, 0] == 1.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_new_artifact_replaces_the_old_one(tmp_path):
    out = tmp_path / "model"
    _write(out, 1.0)
    _write(out, 2.0)
    assert load_numpy_tensors(out, "model.safetensors")["w"][0, 0] == 2.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_refuses_to_replace_a_directory_that_is_not_a_model(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("precious")
    with pytest.raises(ArtifactError, match="not an nlpkit model"):
        _write(home)
    assert (home / "thesis.tex").read_text() == "precious"


@pytest.mark.parametrize("damage,message", [
    (lambda d: (d / "config.json").unlink(), "not an nlpkit model"),
    (lambda d: (d / "config.json").write_text("{not json"), "corrupt"),
    (lambda d: (d / "model.safetensors").unlink(), "model.safetensors is missing"),
    (lambda d: (d / "model.safetensors").write_bytes(b"x" * 10), "wrong size"),
])
def test_damaged_artifacts_are_refused(tmp_path, damage, message):
    out = tmp_path / "model"
    _write(out)
    damage(out)
    with pytest.raises(ArtifactError, match=message):
        read_config(out, {"toy": 1})


def test_wrong_kind_newer_version_and_missing_dir(tmp_path):
    out = tmp_path / "model"
    _write(out)
    with pytest.raises(ArtifactError, match="holds a toy model, not word2vec"):
        read_config(out, {"word2vec": 1})
    config = json.loads((out / "config.json").read_text())
    config["format_version"] = 99
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(ArtifactError, match="newer nlpkit"):
        read_config(out, {"toy": 1})
    with pytest.raises(ArtifactError, match="does not exist"):
        read_config(tmp_path / "nowhere")


def test_corrupt_safetensors_is_a_clear_error(tmp_path):
    out = tmp_path / "model"
    _write(out)
    size = (out / "model.safetensors").stat().st_size
    (out / "model.safetensors").write_bytes(b"\xff" * size)
    with pytest.raises(ArtifactError, match="cannot read"):
        load_numpy_tensors(out, "model.safetensors")


def test_checkpoint_round_trip_uses_plain_data(tmp_path):
    import torch

    state = {"step": 7, "lr": 0.5, "weights": torch.arange(6.0).reshape(2, 3), "rng": torch.get_rng_state(), "names": ["a"]}
    save_checkpoint(tmp_path / "job", state)
    back = load_checkpoint(tmp_path / "job")
    assert back["step"] == 7 and back["names"] == ["a"] and torch.equal(back["weights"], state["weights"])
    assert load_checkpoint(tmp_path / "other") is None


def test_unfinished_job_directory_says_resume(tmp_path):
    import torch

    save_checkpoint(tmp_path / "job", {"step": torch.tensor(1)})
    with pytest.raises(ArtifactError, match="--resume"):
        read_config(tmp_path / "job")


def test_lock_is_exclusive_and_released(tmp_path):
    out = tmp_path / "model"
    with output_lock(out):
        assert lock_path(out).exists()
        with pytest.raises(LockError, match="in use by another job"):
            with output_lock(out):
                pass
    assert not lock_path(out).exists()
    with output_lock(out):
        pass


def test_lock_of_a_killed_process_is_released(tmp_path):
    out = tmp_path / "model"
    code = textwrap.dedent(f"""
        import sys, time
        from nlpkit.locking import output_lock
        with output_lock({str(out)!r}):
            print("locked", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(LockError, match=f"pid {proc.pid}"):
            with output_lock(out):
                pass
        proc.kill()
        proc.wait()
        with output_lock(out):
            pass
    finally:
        proc.kill()
