"""Every trainer on the engine spells the shared training flags the same way (`--help`)."""

from __future__ import annotations

import re

import pytest

SHARED = ["--epochs", "--max-time", "--checkpoint-every", "--resume", "--force", "--metrics", "--valid", "--eval-every",
          "--patience", "--lr", "--warmup", "--schedule", "--clip", "--grad-accum", "--precision", "--device",
          "--threads", "--seed", "--quiet", "--d-model", "--dropout"]
TRAINERS = [["lm", "train"], ["classify", "train"], ["translate", "train"], ["tag", "train"]]
# bert pretrain counts --steps, not --epochs; word2vec/GloVe keep their own loops and share these
NOT_IN = {("bert", "pretrain"): {"--epochs"},
          ("embed", "train"): {"--epochs", "--valid", "--eval-every", "--patience", "--warmup", "--schedule", "--clip",
                               "--grad-accum", "--precision", "--d-model", "--dropout"}}


@pytest.mark.parametrize("command", TRAINERS + [list(c) for c in NOT_IN], ids=" ".join)
def test_help_lists_every_shared_training_flag(cli, command, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # a narrow help table cuts long flag names
    result = cli([*command, "--help"])
    assert result.exit_code == 0
    shown = set(re.findall(r"--[a-z][a-z0-9-]*", re.sub(r"\x1b\[[0-9;]*m", "", result.output)))
    assert not set(SHARED) - NOT_IN.get(tuple(command), set()) - shown


def test_cli_options_map_to_config_fields():
    """Each shared option's flag is the flag() of the TrainConfig field it fills."""
    from dataclasses import fields

    from nlpkit.training import TrainConfig, flag

    names = {flag(f.name) for f in fields(TrainConfig)}
    assert {"--epochs", "--max-time", "--checkpoint-every", "--eval-every", "--grad-accum", "--precision", "--threads"} <= names
