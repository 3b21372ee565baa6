"""The thread pumps: order, exceptions in place, and producers that stop when the consumer does."""

from __future__ import annotations

import threading

import pytest

from nlpkit.pumps import pipelined, prefetch


def test_prefetch_and_pipelined_keep_order():
    assert list(prefetch(range(50), depth=2)) == list(range(50))
    assert list(pipelined(range(50), lambda x: x * x)) == [x * x for x in range(50)]


def test_producer_error_is_raised_at_its_position():
    def items():
        yield 1
        yield 2
        raise ValueError("bad line 3")

    got = []
    with pytest.raises(ValueError, match="bad line 3"):
        for x in pipelined(items(), lambda x: x + 10):
            got.append(x)
    assert got == [11, 12]


def test_an_early_stop_closes_the_source():
    closed = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    stream = pipelined(endless(), lambda x: x)
    assert next(stream) == 0
    stream.close()
    assert closed.wait(5.0)  # both pump threads stopped and the generator was closed


def test_tokenize_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, nlpkit.tokenize.stream, nlpkit.tokenize.train, nlpkit.wordpiece, nlpkit.tokenize_stream; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_old_module_names_are_the_new_modules():
    import nlpkit.tokenize.wordpiece
    import nlpkit.wordpiece

    assert nlpkit.wordpiece is nlpkit.tokenize.wordpiece
