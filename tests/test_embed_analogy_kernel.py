"""The integer keys the analogy kernel takes its maxima over order like the float scores."""

from __future__ import annotations

import numpy as np

from nlpkit.embeddings.analogy_kernel import _key, _max_key


def test_keys_keep_the_order_of_floats() -> None:
    values = np.array([-np.inf, -3.5, -1e-30, -0.0, 0.0, 1e-30, 0.25, 2.0, np.inf], np.float32)
    keys = [int(_key(b)) for b in values.view(np.int32)]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_max_key_is_the_key_of_the_maximum() -> None:
    rng = np.random.default_rng(0)
    for n in (1, 7, 1024, 1031):
        v = (rng.standard_normal(n) * 3).astype(np.float32)
        assert _max_key(v) == _key(v[np.argmax(v):][:1].view(np.int32)[0])
