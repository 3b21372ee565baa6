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
    assert lines[0] == "train: 100/1,000 words (10%), 10 words/s, ETA 1m30s, lr 0.025"


def test_numbers_in_logs_have_4_significant_digits_and_no_exponent():
    from nlpkit.progress import fmt_duration, fmt_number

    assert fmt_number(283.5998431326674) == "283.6"
    assert fmt_number(3e-05) == "0.00003" and fmt_number(0.000123456) == "0.0001235"
    assert fmt_number(123456.7) == "123,500" and fmt_number(2.0) == "2" and fmt_number(0) == "0"
    assert fmt_duration(42.4) == "42s" and fmt_duration(247) == "4m07s" and fmt_duration(11100) == "3h05m"


def test_plain_log_lines_start_with_an_iso_timestamp():
    import re

    from nlpkit.progress import plain_formatter

    record = logging.LogRecord("nlpkit", logging.INFO, __file__, 1, "train: %s", ("x",), None)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ train: x", plain_formatter().format(record))


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


def test_eta_is_capped_by_the_time_budget():
    # 1,000,000 steps at 10 steps/s would take 27 hours, but --max-time stops the job 60 s in.
    clock = FakeClock()
    p = Progress("train", total=1_000_000, unit="steps", clock=clock, time_left=60.0)
    clock.now = 10.0
    p.advance(100)
    assert p.eta() == 50.0
    assert "ETA 50s" in p.status()
    no_budget = Progress("train", total=1_000_000, unit="steps", clock=clock)
    clock.now = 20.0
    no_budget.advance(100)
    assert no_budget.eta() == pytest.approx((1_000_000 - 100) / 10)
