"""Shared Transformer layers: causal masking, padding masks, pre/post-LN blocks."""

import pytest
import torch

from nlpkit.layers import (
    FeedForward,
    MultiHeadAttention,
    SinusoidalPositionalEncoding,
    TransformerBlock,
    causal_mask,
)


def test_causal_mask_shape_and_values():
    m = causal_mask(4)
    assert m.dtype == torch.bool
    assert m.tolist() == [
        [True, False, False, False],
        [True, True, False, False],
        [True, True, True, False],
        [True, True, True, True],
    ]


@pytest.mark.parametrize("norm_first", [True, False])
def test_causal_attention_does_not_see_the_future(norm_first):
    torch.manual_seed(0)
    block = TransformerBlock(16, 4, 32, norm_first=norm_first).eval()
    x = torch.randn(2, 6, 16)
    y = block(x, causal=True)
    x2 = x.clone()
    x2[:, 4:] = torch.randn(2, 2, 16)  # change only the future of positions 0..3
    y2 = block(x2, causal=True)
    assert torch.allclose(y[:, :4], y2[:, :4], atol=1e-6)
    assert not torch.allclose(y[:, 4:], y2[:, 4:], atol=1e-3)
    # Without the mask, position 0 does see later positions.
    assert not torch.allclose(block(x)[:, 0], block(x2)[:, 0], atol=1e-4)


def test_causal_mask_matches_explicit_mask():
    torch.manual_seed(0)
    attn = MultiHeadAttention(8, 2).eval()
    x = torch.randn(3, 5, 8)
    assert torch.allclose(attn(x, causal=True), attn(x, attn_mask=causal_mask(5)), atol=1e-6)


def test_key_padding_mask_ignores_padding():
    torch.manual_seed(0)
    attn = MultiHeadAttention(8, 2).eval()
    x = torch.randn(1, 3, 8)
    padded = torch.cat([x, torch.randn(1, 2, 8)], dim=1)  # (1, 5, 8)
    pad = torch.tensor([[False, False, False, True, True]])
    assert torch.allclose(attn(x), attn(padded, key_padding_mask=pad)[:, :3], atol=1e-6)
    # causal + padding together
    assert torch.allclose(attn(x, causal=True), attn(padded, causal=True, key_padding_mask=pad)[:, :3], atol=1e-6)


def test_cross_attention_shapes_and_memory_padding():
    torch.manual_seed(0)
    block = TransformerBlock(8, 2, 16, cross_attention=True).eval()
    x, mem = torch.randn(2, 3, 8), torch.randn(2, 4, 8)
    y = block(x, mem, causal=True, memory_key_padding_mask=torch.tensor([[False] * 4, [False, False, True, True]]))
    assert y.shape == (2, 3, 8) and torch.isfinite(y).all()
    with pytest.raises(ValueError):
        block(x)


def test_feedforward_activation_and_positions():
    ff = FeedForward(4, 8, activation="gelu")
    assert ff(torch.randn(2, 3, 4)).shape == (2, 3, 4)
    with pytest.raises(ValueError):
        FeedForward(4, 8, activation="tanh")
    pe = SinusoidalPositionalEncoding(6, max_len=4)
    out = pe(torch.zeros(1, 10, 6))  # longer than the table: grows
    assert out.shape == (1, 10, 6)
    assert torch.allclose(out[0, 0], torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]))
    assert torch.allclose(pe(torch.zeros(1, 2, 6), offset=3)[0, 0], out[0, 3])
