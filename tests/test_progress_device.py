import logging

import pytest

from nlpkit.device import resolve_device
from nlpkit.errors import DeviceError
from nlpkit.progress import Progress


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_logs_plain_lines_at_intervals_when_not_a_terminal(caplog):
    clock = FakeClock()
    with caplog.at_level(logging.INFO, logger="nlpkit"):
        with Progress("train", total=1000, unit="words", log_every=10, clock=clock) as p:
            for _ in range(50):
                clock.now += 1
                p.advance(10, lr=0.025)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 5
    assert lines[0].startswith("train: 100/1,000 words, 10 words/s") and "lr 0.025" in lines[0]


def test_quiet_progress_logs_nothing(caplog):
    clock = FakeClock()
    with caplog.at_level(logging.INFO, logger="nlpkit"):
        with Progress("train", quiet=True, log_every=1, clock=clock) as p:
            for _ in range(5):
                clock.now += 2
                p.advance()
    assert not caplog.records


def test_devices():
    import torch

    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type in (expected, "mps")
    with pytest.raises(DeviceError, match="unknown device"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(DeviceError, match="CUDA is not available"):
            resolve_device("cuda:0")
