"""BERT model: padding is ignored, masked-position MLM equals full MLM, save/load and HF round trips."""

from __future__ import annotations

import pytest
import torch

from nlpkit.bert.model import Bert, BertConfig
from nlpkit.errors import ArtifactError, ConfigError

BERT_VOCAB = "corpora/bert_vocab/vocab.txt"


def tiny(vocab_size: int = 120, **kw) -> Bert:
    torch.manual_seed(0)
    return Bert(BertConfig(vocab_size=vocab_size, hidden=32, layers=2, heads=4, intermediate=64, dropout=0.0, max_position=64, **kw)).eval()


def test_padding_changes_nothing():
    model = tiny()
    ids = torch.randint(5, 120, (1, 9))
    seg = torch.tensor([[0] * 5 + [1] * 4])
    alone_mlm, alone_nsp = model(ids, seg)
    padded = torch.cat([ids, torch.zeros(1, 6, dtype=torch.long)], 1)  # (1, 15)
    pseg = torch.cat([seg, torch.zeros(1, 6, dtype=torch.long)], 1)
    mask = torch.tensor([[1] * 9 + [0] * 6])
    other = torch.randint(5, 120, (1, 15))  # a second, full-length row in the same batch
    mlm, nsp = model(torch.cat([padded, other]), torch.cat([pseg, pseg]), torch.cat([mask, torch.ones_like(mask)]))
    assert torch.allclose(mlm[0, :9], alone_mlm[0], atol=1e-5)
    assert torch.allclose(nsp[0], alone_nsp[0], atol=1e-5)
    # without the mask the padding would change the result: the test can fail
    unmasked, _ = model(padded, pseg)
    assert not torch.allclose(unmasked[0, :9], alone_mlm[0], atol=1e-3)


def test_masked_positions_match_full_logits():
    model = tiny()
    ids = torch.randint(5, 120, (3, 10))
    full, nsp_full = model(ids)  # (3, 10, V)
    flat = torch.tensor([1, 4, 12, 25, 29])
    part, nsp_part = model(ids, mlm_positions=flat)  # (5, V)
    assert torch.allclose(part, full.reshape(30, -1)[flat], atol=1e-5)
    assert torch.equal(nsp_full, nsp_part)


def test_mlm_head_is_tied_to_token_embeddings():
    model = tiny()
    names = [n for n, _ in model.named_parameters()]
    assert not any("decoder" in n for n in names)
    with torch.no_grad():
        model.embeddings.tokens.weight[7] += 1.0
    h = torch.randn(2, 32)
    manual = model.mlm_norm(torch.nn.functional.gelu(model.mlm_transform(h))) @ model.embeddings.tokens.weight.T + model.mlm_bias
    assert torch.allclose(model.mlm_logits(h), manual, atol=1e-5)


def test_config_errors():
    with pytest.raises(ConfigError, match="divisible"):
        BertConfig(hidden=30, heads=4)
    with pytest.raises(ConfigError):
        tiny()(torch.zeros(1, 65, dtype=torch.long))  # longer than max_position


def bert_vocab_model():
    from nlpkit.tokenize.wordpiece import load_tokenizer

    tok = load_tokenizer(BERT_VOCAB)
    return tiny(vocab_size=tok.get_vocab_size(), pad_id=0), tok


def sample_batch(tok):
    enc = tok.encode_batch([("the cat sat on the mat .", "it was happy ."), ("a [MASK] day", "")])
    T = max(len(e.ids) for e in enc)
    ids = torch.tensor([e.ids + [0] * (T - len(e.ids)) for e in enc])
    seg = torch.tensor([e.type_ids + [0] * (T - len(e.ids)) for e in enc])
    return ids, seg, (ids != 0).long()


def test_save_load_round_trip(tmp_path):
    from nlpkit.bert.artifact import load_bert, save_bert

    model, tok = bert_vocab_model()
    save_bert(tmp_path / "m", model, tok)
    loaded, tok2, config = load_bert(tmp_path / "m")
    assert config["kind"] == "bert" and tok2.get_vocab() == tok.get_vocab()
    batch = sample_batch(tok)
    assert all(torch.equal(a, b) for a, b in zip(model(*batch), loaded(*batch)))


def test_load_rejects_other_directories(tmp_path):
    from nlpkit.bert.artifact import load_bert

    with pytest.raises(ArtifactError, match="does not exist"):
        load_bert(tmp_path / "nope")


def test_hf_export_import_same_logits(tmp_path):
    transformers = pytest.importorskip("transformers")
    from nlpkit.bert.artifact import load_bert, save_bert
    from nlpkit.bert.hf import export_hf, import_hf

    model, tok = bert_vocab_model()
    with torch.no_grad():  # make every parameter matter, biases and LayerNorms included
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    save_bert(tmp_path / "m", model, tok)
    export_hf(tmp_path / "m", tmp_path / "hf")
    ids, seg, att = sample_batch(tok)
    mlm, nsp = model(ids, seg, att)
    hf = transformers.BertForPreTraining.from_pretrained(tmp_path / "hf").eval()
    with torch.no_grad():
        out = hf(input_ids=ids, token_type_ids=seg, attention_mask=att)
    assert (out.prediction_logits - mlm).abs()[att.bool()].max() < 1e-4
    assert (out.seq_relationship_logits - nsp).abs().max() < 1e-4
    mlm_only = transformers.BertForMaskedLM.from_pretrained(tmp_path / "hf").eval()
    with torch.no_grad():
        assert (mlm_only(input_ids=ids, token_type_ids=seg, attention_mask=att).logits - mlm).abs()[att.bool()].max() < 1e-4
    hf_tok = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    assert hf_tok("a [MASK] day")["input_ids"] == tok.encode("a [MASK] day").ids
    import_hf(tmp_path / "hf", tmp_path / "back")
    back, _, _ = load_bert(tmp_path / "back")
    assert all(torch.equal(a, b) for a, b in zip(model(ids, seg, att), back(ids, seg, att)))


def test_import_refuses_other_models(tmp_path):
    from nlpkit.bert.hf import import_hf

    (tmp_path / "gpt").mkdir()
    (tmp_path / "gpt" / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(ArtifactError, match="not BERT"):
        import_hf(tmp_path / "gpt", tmp_path / "out")


@pytest.mark.parametrize("change", ["extra", "missing", "shape"])
def test_load_is_strict_about_weights(tmp_path, change):
    from safetensors.torch import load_file, save_file

    from nlpkit.bert.artifact import load_bert, save_bert

    model, tok = bert_vocab_model()
    save_bert(tmp_path / "m", model, tok)
    path = tmp_path / "m" / "model.safetensors"
    state = load_file(str(path))
    if change == "extra":
        state["layers.9.qkv.weight"] = torch.zeros(3, 3)
    elif change == "missing":
        del state["nsp.bias"]
    else:
        state["nsp.bias"] = torch.zeros(3)
    save_file(state, str(path))
    config = (tmp_path / "m" / "config.json").read_text()  # the recorded size must match the new file
    import json

    values = json.loads(config)
    values["files"]["model.safetensors"] = path.stat().st_size
    (tmp_path / "m" / "config.json").write_text(json.dumps(values))
    with pytest.raises(ArtifactError, match="does not match its config"):
        load_bert(tmp_path / "m")


def test_hf_import_refuses_unexpected_weights(tmp_path):
    pytest.importorskip("transformers")
    from safetensors.torch import load_file, save_file

    from nlpkit.bert.artifact import save_bert
    from nlpkit.bert.hf import export_hf, import_hf

    model, tok = bert_vocab_model()
    save_bert(tmp_path / "m", model, tok)
    export_hf(tmp_path / "m", tmp_path / "hf")
    path = tmp_path / "hf" / "model.safetensors"
    state = load_file(str(path))
    state["bert.encoder.layer.7.output.dense.weight"] = torch.zeros(2, 2)  # a layer the config does not have
    save_file(state, str(path))
    with pytest.raises(ArtifactError, match="unexpected tensor.*layer.7"):
        import_hf(tmp_path / "hf", tmp_path / "back")
    assert not (tmp_path / "back").exists()
