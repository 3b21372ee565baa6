"""The README's shell examples still match the tool: every `nlpkit ...` command line in a code block
names a real command and only options it has; the `## Commands` overview links to real sections
and names every command group; the quick examples run literally on the shipped corpora."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest
import typer

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(text: str) -> list[tuple[str, list[str]]]:
    """(language, lines) of every fenced code block, backslash continuations joined."""
    out = []
    for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", text, re.M | re.S):
        joined = re.sub(r"\\\n\s*", " ", body)
        out.append((lang, joined.splitlines()))
    return out


def _invocations() -> list[list[str]]:
    """Every `nlpkit ...` segment of a command line (pipes and `;` split it)."""
    found = []
    for lang, lines in _blocks(README):
        for line in lines:
            console = line.startswith("$ ")
            if lang == "console" and not console:
                continue  # an output line
            line = line[2:] if console else line
            try:
                tokens = shlex.split(line, comments=True, posix=True)
            except ValueError:
                continue
            segment: list[str] = []
            for tok in [*tokens, "|"]:
                if tok in ("|", ";", "&&", "||", ">", "<", "2>", ">>"):
                    if segment and segment[0] == "nlpkit":
                        found.append(segment)
                    segment = [] if tok in ("|", ";", "&&", "||") else ["<redirect>"]
                else:
                    segment.append(tok)
    return found


def _resolve(args: list[str]):
    """The click command an argument list reaches, and the arguments left for it."""
    from nlpkit_cli.app import app

    cmd = typer.main.get_command(app)
    rest = list(args)
    while hasattr(cmd, "commands"):
        if rest and rest[0] in cmd.commands:
            cmd = cmd.commands[rest.pop(0)]
        elif getattr(cmd, "default_command", "") and not (rest and rest[0] in ("--help", "-h")):
            cmd = cmd.commands[cmd.default_command]
        else:
            break
    return cmd, rest


INVOCATIONS = _invocations()


def test_readme_has_many_examples():
    assert len(INVOCATIONS) > 40


@pytest.mark.parametrize("args", INVOCATIONS, ids=[" ".join(a[:4]) for a in INVOCATIONS])
def test_readme_example_uses_real_options(args):
    cmd, rest = _resolve(args[1:])
    names = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"--help", "-h"}
    if hasattr(cmd, "commands"):  # the root or a group without a default: only its own options
        assert not rest or rest[0].startswith("-"), f"unknown command: {args}"
    for tok in rest:
        if tok.startswith("-") and tok != "-" and not re.fullmatch(r"-\d[\d.e-]*", tok):
            assert tok.split("=")[0] in names, f"{tok} is not an option of `{' '.join(args[:3])}`"


def _anchor(heading: str) -> str:
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_commands_overview_links_and_groups():
    from nlpkit_cli.app import app

    overview = README.split("## Commands", 1)[1].split("<!-- commands -->", 1)[0]
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.*)$", README, re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", overview)
    assert links and all(link in anchors for link in links), [link for link in links if link not in anchors]
    for name in typer.main.get_command(app).commands:
        assert f"`nlpkit {name}" in overview, f"{name} is missing from ## Commands"


def test_conventions_hold_the_glossary_and_the_bad_line_policy():
    conventions = README.split("## Conventions", 1)[1].split("\n## ", 1)[0]
    for field in ("text", "n_tokens", "n_oov", "tokens", "oov_words", "log10_prob", "logprob", "ppl", "error", "score"):
        assert re.search(rf"^  \| [^|\n]*`{field}`", conventions, re.M), field
    for words in ("--strict", "--echo", "Bad lines", "Exit codes"):
        assert words in conventions


def _quick() -> list[str]:
    """README lines and help examples that need nothing but the shipped corpora and write nothing."""
    from nlpkit_cli._help import EXAMPLES

    lines = [line for _, block in _blocks(README) for line in block] + list(EXAMPLES.values())
    return sorted({line for line in lines if "-m corpora/bert_vocab/vocab.txt" in line and not re.search(r"\b(big|ids)\.txt|>", line)})


QUICK = _quick()


@pytest.mark.parametrize("line", QUICK)
def test_quick_examples_run_literally(line):
    command, _, comment = (line[2:] if line.startswith("$ ") else line).partition("  #")
    command = re.sub(r"\bnlpkit ", f"{shlex.quote(sys.executable)} -m nlpkit_cli ", command)
    out = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip(), out.stderr
    if comment.strip():  # the comment shows the output
        assert out.stdout.strip() == comment.strip()
