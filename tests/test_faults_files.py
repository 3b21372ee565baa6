"""Issue 16, points 3, 5 and 6: a full disk, poisoned or damaged files, one-line errors."""

from __future__ import annotations

import errno
import gzip
import json
import os
import pickle
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest

from nlpkit import artifacts, safeio
from nlpkit.artifacts import artifact_writer, save_checkpoint, write_config
from nlpkit.errors import ArtifactError

ROOT = Path(__file__).resolve().parent.parent
BERT_VOCAB = ROOT / "corpora" / "bert_vocab" / "vocab.txt"
ARPA = """\\data\\
ngram 1=4
ngram 2=2

\\1-grams:
-1.0\t<unk>\t0
-99\t<s>\t-0.3
-0.5\t</s>\t0
-0.6\thello\t-0.2

\\2-grams:
-0.2\t<s> hello
-0.1\thello </s>

\\end\\
"""


def one_line(result) -> str:
    err = result.stderr.strip()
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert "internal error" not in err and "Traceback" not in err
    return err


def _disk_full_for(monkeypatch, fragment: str) -> None:
    """os.write fails with ENOSPC for files whose path contains ``fragment``, as on a full disk."""
    real = os.write

    def write(fd, data):
        try:
            name = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            name = ""
        if fragment in name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(os, "write", write)


# --- 3. disk full --------------------------------------------------------------------------------


def test_a_full_disk_while_checkpointing_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    import torch

    save_checkpoint(tmp_path, {"step": 1, "w": torch.ones(3)})
    _disk_full_for(monkeypatch, "checkpoint.pt")
    with pytest.raises(ArtifactError) as err:
        save_checkpoint(tmp_path, {"step": 2, "w": torch.zeros(300_000)})
    message = str(err.value)
    assert message.startswith(f"no space left on device writing {tmp_path / 'checkpoint.pt'} (needed about 2 MB)")
    assert len(message.splitlines()) == 1
    monkeypatch.undo()
    assert artifacts.load_checkpoint(tmp_path)["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]


def test_a_full_disk_while_publishing_leaves_the_old_model_and_nothing_half_written(tmp_path, monkeypatch):
    out = tmp_path / "m"
    with artifact_writer(out) as tmp:
        safeio.write_bytes_atomic(tmp / "weights.bin", b"old")
        write_config(tmp, "toy", model={})
    _disk_full_for(monkeypatch, "weights.bin")
    with pytest.raises(ArtifactError, match=r"^no space left on device writing .*weights\.bin \(needed about 1 MB\)"):
        with artifact_writer(out, force=True) as tmp:
            safeio.write_bytes_atomic(tmp / "weights.bin", b"new" * 1000)
            write_config(tmp, "toy", model={})
    assert (out / "weights.bin").read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_a_full_disk_reported_by_safetensors_or_torch_is_one_line(tmp_path):
    class SafetensorError(Exception):
        pass

    out = tmp_path / "m"
    with pytest.raises(ArtifactError, match=r"^no space left on device writing .*m \(needed about \d+ MB\)"):
        with artifact_writer(out) as tmp:
            (tmp / "part").write_bytes(b"x" * 10)
            raise SafetensorError("Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: \"No space left on device\" })")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_a_full_disk_during_the_glove_spill_is_one_line(tmp_path, monkeypatch):
    from nlpkit.embeddings import cooccur

    def full(path, array):
        Path(path).write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cooccur.np, "save", full)
    with pytest.raises(ArtifactError, match="no space left on device writing .*run-0.keys.npy"):
        cooccur._spill(tmp_path / "run-0", np.arange(10), np.ones(10, np.float32))
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_in_a_training_command_is_one_line(cli, tmp_path, monkeypatch):
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from test_embed_train import write_corpus

    corpus = write_corpus(tmp_path / "c.txt", sentences=300)
    _disk_full_for(monkeypatch, "checkpoint.pt")
    out = tmp_path / "vec"
    err = one_line(cli(["embed", "train", corpus, "-o", out, "--dim", "8", "--min-count", "1", "--epochs", "2",
                        "--threads", "1", "--device", "cpu", "--checkpoint-every", "500", "--quiet"]))
    assert "no space left on device writing" in err and "checkpoint.pt" in err
    assert not out.exists() or not [p for p in out.iterdir() if p.name.startswith(".")]


# --- 5. poisoned files are refused or repaired ----------------------------------------------------


def test_duplicate_vocab_lines_are_repaired_with_a_warning(tmp_path, caplog):
    from nlpkit.wordpiece import load_tokenizer

    lines = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "the", "sat"]
    (tmp_path / "vocab.txt").write_text("\n".join(lines) + "\n")
    tok = load_tokenizer(tmp_path / "vocab.txt")
    assert "lists 1 piece(s) twice" in caplog.text and "lines 6 and 8" in caplog.text
    # ids stay line numbers - 1; "the" is the last line that lists it, as transformers reads it
    assert tok.encode("the cat sat", add_special_tokens=False).ids == [7, 6, 8]
    assert tok.get_vocab_size() == len(lines)


@pytest.mark.parametrize("bad", ["nan", "inf", "0.5"])
def test_lm_import_refuses_nan_inf_and_positive_log_probabilities(cli, tmp_path, bad):
    arpa = tmp_path / "m.arpa"
    arpa.write_text(ARPA.replace("-0.6\thello", f"{bad}\thello"))
    err = one_line(cli(["lm", "import", arpa, "-o", tmp_path / "m"]))
    assert "'hello'" in err and "must be finite and at most 1" in err
    assert not (tmp_path / "m").exists()


def test_lm_import_accepts_a_valid_file(cli, tmp_path):
    arpa = tmp_path / "m.arpa"
    arpa.write_text(ARPA)
    assert cli(["lm", "import", arpa, "-o", tmp_path / "m"]).exit_code == 0


def test_implausible_headers_are_named_as_such(cli, tmp_path):
    arpa = tmp_path / "big.arpa"
    arpa.write_text(ARPA.replace("ngram 1=4", "ngram 1=1000000000000"))
    assert "implausible ARPA header" in one_line(cli(["lm", "import", arpa, "-o", tmp_path / "m"]))
    vec = tmp_path / "big.vec"
    vec.write_bytes(b"1000000000000 300\nhello " + b"\0" * 1200 + b"\n")
    assert "implausible header" in one_line(cli(["embed", "import", vec, "-o", tmp_path / "v"]))


def test_a_vec_file_with_nan_is_refused(cli, tmp_path):
    vec = tmp_path / "v.vec"
    vec.write_text("3 2\nhello 1 0\nworld nan 1\nagain 0 1\n")
    err = one_line(cli(["embed", "import", vec, "-o", tmp_path / "v"]))
    assert "'world'" in err and "NaN" in err


def _vectors_model(cli, tmp_path) -> Path:
    vec = tmp_path / "v.vec"
    vec.write_text("3 2\nhello 1 0\nworld 0.8 0.6\nagain 0 1\n")
    assert cli(["embed", "import", vec, "-o", tmp_path / "v"]).exit_code == 0
    return tmp_path / "v"


def test_vectors_safetensors_with_nan_or_the_wrong_dimension_are_refused(cli, tmp_path):
    from safetensors.numpy import save_file

    model = _vectors_model(cli, tmp_path)
    assert cli(["similar", "-m", model, "hello"]).exit_code == 0
    path = model / "vectors.safetensors"
    size = path.stat().st_size
    unit = np.array([[1, 0], [np.nan, 0.6], [0, 1]], np.float32)
    save_file({"vectors": unit, "unit": unit}, str(path))
    assert path.stat().st_size == size  # same bytes count: only validation can notice
    assert "NaN" in one_line(cli(["similar", "-m", model, "hello"]))
    wide = np.ones((3, 3), np.float32)
    save_file({"vectors": wide[:, :2].copy(), "unit": wide[:, :2].copy()}, str(path))
    config = json.loads((model / "config.json").read_text())
    config["model"]["dim"] = 3
    (model / "config.json").write_text(json.dumps(config))
    assert "do not match dimension 3" in one_line(cli(["similar", "-m", model, "hello"]))


def _header_file(path: Path, header: object, data: bytes = b"\0" * 24, size: int | None = None) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw) if size is None else size) + raw + data)


@pytest.mark.parametrize(
    ("header", "size", "message"),
    [
        ({"unit": {"dtype": "F32", "shape": "x", "data_offsets": [0, 24]}}, None, "malformed header entry"),
        ({"unit": {"dtype": "F32", "shape": [3, 2], "data_offsets": [0, 10**30]}}, None, "does not match its bytes"),
        ({"unit": {"dtype": "F32", "shape": [3, 5], "data_offsets": [0, 24]}}, None, "does not match its bytes"),
        ([1, 2, 3], None, "not a JSON object"),
        ({}, 2**63, "header of"),
    ],
)
def test_hand_built_safetensors_headers_are_one_line(cli, tmp_path, header, size, message):
    model = _vectors_model(cli, tmp_path)
    _header_file(model / "vectors.safetensors", header, size=size)
    config = json.loads((model / "config.json").read_text())
    config["files"].pop("vectors.safetensors")  # reach the header check, past the size check
    (model / "config.json").write_text(json.dumps(config))
    assert message in one_line(cli(["similar", "-m", model, "hello"]))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('{"kind": "wordpiece", "format_version": 99}', "newer nlpkit"),
        ('{"kind": "mystery", "format_version": 1}', "unknown kind"),
        ('{"kind": "wordpiece", ', "corrupt"),
    ],
)
def test_tokenizer_directories_honour_config_json(cli, tmp_path, config, message):
    out = tmp_path / "tok"
    out.mkdir()
    (out / "vocab.txt").write_bytes(BERT_VOCAB.read_bytes())
    (out / "config.json").write_text(config)
    assert message in one_line(cli(["tokenize", "-m", out], input="hello\n"))


# --- 6. one-line errors ---------------------------------------------------------------------------


def test_lm_import_of_a_truncated_gz_is_one_line(cli, tmp_path):
    data = gzip.compress(ARPA.encode() * 50)
    (tmp_path / "m.arpa.gz").write_bytes(data[: len(data) // 2])
    assert "truncated or damaged" in one_line(cli(["lm", "import", tmp_path / "m.arpa.gz", "-o", tmp_path / "m"]))


def _hf_dir(tmp_path: Path) -> Path:
    hf = tmp_path / "hf"
    hf.mkdir()
    config = {"model_type": "bert", "vocab_size": 8, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 1,
              "intermediate_size": 8}
    (hf / "config.json").write_text(json.dumps(config))
    (hf / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c"]) + "\n")
    return hf


class _Payload:
    def __reduce__(self):
        return (eval, ("__import__('os').system('echo pwned')",))


def test_bert_import_of_a_pickle_payload_is_refused_in_one_line(cli, tmp_path):
    import torch

    hf = _hf_dir(tmp_path)
    torch.save({"x": _Payload()}, hf / "pytorch_model.bin")
    err = one_line(cli(["bert", "import", hf, "-o", tmp_path / "out"]))
    assert "pickled Python objects" in err and "add_safe_globals" not in err and "weights_only" not in err


def test_bert_import_of_corrupt_weights_is_one_line(cli, tmp_path):
    hf = _hf_dir(tmp_path)
    (hf / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    assert "cannot read" in one_line(cli(["bert", "import", hf, "-o", tmp_path / "out"]))
    (hf / "model.safetensors").unlink()
    (hf / "pytorch_model.bin").write_bytes(b"PK\x03\x04garbage")
    assert "cannot read" in one_line(cli(["bert", "import", hf, "-o", tmp_path / "out2"]))


def test_a_raw_pickle_checkpoint_is_one_line_without_warnings(tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(pickle.dumps({"step": 1, "f": os.system}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ArtifactError) as err:
            artifacts.load_checkpoint(tmp_path)
    assert len(str(err.value).splitlines()) == 1 and "add_safe_globals" not in str(err.value)


def test_embed_import_of_a_directory_says_so(cli, tmp_path):
    assert "is a directory, not a vector file" in one_line(cli(["embed", "import", tmp_path, "-o", tmp_path / "v"]))


def test_analogy_warnings_cap_and_escape_what_they_echo(cli, tmp_path, caplog):
    from nlpkit_cli.embed_query import _shown

    assert _shown("caf\udce9") == "caf\\xe9"
    long = _shown("x" * 5_000_000)
    assert len(long) < 120 and long.endswith("(5000000 characters)")
    model = _vectors_model(cli, tmp_path)
    result = cli(["analogy", "-m", model], input="a:b::" + "q" * 100_000 + "\n")
    assert result.exit_code == 0
    warning = [line for line in result.stderr.splitlines() if "warning:" in line]  # main's log lines start with a timestamp
    assert len(warning) == 1 and len(warning[0]) < 300


def test_disk_full_detection():
    assert safeio.is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert safeio.is_disk_full(RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file data/0: file write failed, error code: 28"))
    assert not safeio.is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not safeio.is_disk_full(ValueError("bad value"))


def test_an_option_error_under_torchrun_is_reported_by_rank_0_only(cli, tmp_path, monkeypatch):
    args = ["lm", "train", BERT_VOCAB, "-o", tmp_path / "m", "--order", "0"]
    assert "--order" in one_line(cli(args))
    monkeypatch.setenv("RANK", "1")
    result = cli(args)
    assert result.exit_code == 1 and result.stderr == ""


def test_a_bad_row_is_found_by_the_query_that_reads_it_and_raw_vectors_only_when_read(cli, tmp_path):
    from safetensors.numpy import save_file

    from nlpkit.embeddings.vectors import WordVectors
    from nlpkit.errors import ArtifactError

    model = _vectors_model(cli, tmp_path)
    path = model / "vectors.safetensors"
    good = np.array([[1, 0], [0.6, 0.8], [0, 1]], np.float32)
    save_file({"vectors": good, "unit": np.array([[1, 0], [0.6, 0.8], [0, np.inf]], np.float32)}, str(path))
    for query in (lambda wv: wv.similar([0]), lambda wv: wv.analogy([(0, 1, 0)]), lambda wv: wv.unit):
        with pytest.raises(ArtifactError, match="NaN or infinite"):
            query(WordVectors.load(model))
    save_file({"vectors": np.array([[1, 0], [np.nan, 0.8], [0, 1]], np.float32), "unit": good}, str(path))
    wv = WordVectors.load(model)
    assert [n.word for n in wv.similar([0])[0]] == ["world", "again"]  # the unit rows are sound
    with pytest.raises(ArtifactError, match="NaN or infinite"):
        wv.vectors
