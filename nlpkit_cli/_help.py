"""Plain-text help for every command, installed once on the root group (``install``).

Why not Typer's Rich help: Rich reads ``a:b::c`` as an emoji code and ``[...]`` as markup, cuts
option names to fit its table at 80 columns, and shows Python types (``<bool>``, ``<list[str]>``).
Here help is click's plain layout with:

- metavars a user reads (``N``, ``NUM``, ``FILE``, ``DIR``, ``DURATION``, ``TEXT``, choices
  ``a|b``), chosen from each parameter's type, name and help;
- option names never cut (a long name gets its help on the next line) and words never broken at
  hyphens;
- options grouped under Input / Model / Training / Output / Device headings when a command has
  more than ``GROUP_OVER`` of them (an explicit ``rich_help_panel`` wins);
- the sub-commands of a group listed with their whole first paragraph, not cut;
- an ``Example:`` at the end: the command's ``epilog``, or its entry in ``EXAMPLES``.

New commands get all of this for free; a test checks that each has an example.
"""

from __future__ import annotations

import re
import textwrap
import types
from typing import Any

GROUP_OVER = 12
ARGUMENTS, OPTIONS = "Arguments", "Options"
PANEL_ORDER = ("Input", "Model", "Training", OPTIONS, "Output", "Device")  # -h/--help ends the last one
_INPUT = {
    "text_field", "strict_utf8", "valid", "valid_src", "valid_tgt", "valid_fraction", "src", "tgt", "src_col",
    "tgt_col", "label_col", "text_col", "input_format", "documents", "ref", "decode", "tokenizer",
}
_OUTPUT = {
    "output", "format", "echo", "strict", "line_buffered", "metrics", "force", "quiet", "attention",
    "attention_plot", "plot_line", "nbest", "per_token", "summary", "log_every", "include_inputs",
}
_TRAINING = {
    "epochs", "steps", "lr", "lr_decay", "min_lr", "warmup", "max_time", "checkpoint_every", "resume", "seed",
    "patience", "eval_every", "valid_every", "valid_metric", "valid_lines", "clip", "clip_norm", "weight_decay",
    "schedule", "grad_accum", "label_smoothing", "teacher_forcing", "scheduled_sampling", "ss_k", "eval_batches",
    "shuffle_buffer", "doc_window", "mlm_prob", "masking", "whole_word_mask", "short_seq_prob", "optimizer",
    "bptt", "sample", "negative_pool", "freeze_vectors", "batch_size", "max_tokens",
}
_DEVICE = {"device", "threads", "precision", "amp", "max_sentences"}
_DURATIONS = {"max_time", "checkpoint_every", "eval_every", "log_every", "every", "valid_every"}
# Metavars by option name where type and help do not tell (None: by type and help).
_BY_NAME = {
    "model": "DIR", "output": None, "device": "DEVICE", "text_field": "FIELD", "valid": "FILE", "metrics": "FILE",
}

# Examples run from the repository root on the shipped corpora; a command's own `epilog` wins.
EXAMPLES: dict[str, str] = {
    "": "echo 'The quick brown fox.' | nlpkit tokenize -m corpora/bert_vocab/vocab.txt",
    "tokenize": "echo 'The quick brown fox.' | nlpkit tokenize -m corpora/bert_vocab/vocab.txt",
    "tokenize encode": "echo 'A fox.' | nlpkit tokenize encode -m corpora/bert_vocab/vocab.txt -f ids",
    "tokenize train": "nlpkit tokenize train corpora/en_prose -o wp --vocab-size 8000",
    "tokenize stats": "nlpkit tokenize stats -m corpora/bert_vocab/vocab.txt corpora/eval",
    "embed": "nlpkit embed train corpora/ptb/ptb.train.txt.gz -o vec --dim 50 --epochs 1",
    "embed train": "nlpkit embed train corpora/ptb/ptb.train.txt.gz -o vec --dim 50 --epochs 1",
    "embed phrases": "nlpkit embed phrases corpora/ptb -o phr; nlpkit embed phrases -m phr a.txt",
    "embed eval": "nlpkit embed eval -m vec",
    "embed export": "nlpkit embed export -m vec -o vec.txt",
    "embed import": "nlpkit embed import vec.txt -o vec2",
    "embed debias": "nlpkit embed debias -m vec -o vec-debiased",
    "analogy": "nlpkit analogy -m vec 'man:king::woman' --top-k 3",
    "similar": "echo king | nlpkit similar -m vec -f tsv --echo",
    "bert": "echo 'the cat sat on the [MASK] .' | nlpkit bert fill-mask -m bert-tiny",
    "bert pretrain": "nlpkit bert pretrain corpora/en_prose -o bert-tiny --layers 2 --hidden 64 \\\n"
    "    --steps 200",
    "bert fill-mask": "echo 'the cat sat on the [MASK] .' | nlpkit bert fill-mask -m bert-tiny -k 3",
    "bert embed": "echo 'the cat sat' | nlpkit bert embed -m bert-tiny --pool mean",
    "bert export": "nlpkit bert export -m bert-tiny -o bert-tiny-hf",
    "bert import": "nlpkit bert import bert-tiny-hf -o bert-tiny2",
    "lm": "nlpkit lm train corpora/ptb/ptb.train.txt.gz -o kn3 --arch ngram --order 3",
    "lm train": "nlpkit lm train corpora/ptb/ptb.train.txt.gz -o kn3 --arch ngram --order 3",
    "lm score": "echo 'the market fell' | nlpkit lm score -m kn3 -f jsonl",
    "lm generate": "nlpkit lm generate -m kn3 --prompt 'the market' --num 3",
    "lm import": "nlpkit lm import model.arpa -o kn-imported",
    "lm export": "nlpkit lm export -m kn3 -o kn3.arpa",
    "lm prune": "nlpkit lm prune -m kn3 --threshold 1e-7 -o kn3p --eval valid.txt",
    "lm filter": "nlpkit lm filter -m kn3 --vocab words.txt -o kn3-filtered",
    "lm interpolate": "nlpkit lm interpolate -m kn3 -m lstm --tune valid.txt -o mix",
    "translate": "echo 'Ich bin müde.' | nlpkit translate -m de-en",
    "translate decode": "echo 'Ich bin müde.' | nlpkit translate decode -m de-en --beam 5 -f jsonl",
    "translate train": "nlpkit translate train corpora/de_en/tatoeba.train.tsv.gz -o de-en \\\n"
    "    --src-col 2 --tgt-col 1 --max-time 300",
    "translate eval": "nlpkit translate eval -m de-en --src test.de --ref test.en --beam 1,5",
    "classify": "echo 'a wonderful film' | nlpkit classify -m imdb -f jsonl",
    "classify predict": "echo 'a wonderful film' | nlpkit classify predict -m imdb -f tsv --echo",
    "classify train": "nlpkit classify train corpora/sentiment/imdb.train.tsv.gz -o imdb \\\n"
    "    --label-col 1 --text-col 4 --epochs 2",
    "classify eval": "nlpkit classify eval -m imdb corpora/sentiment/imdb.test.tsv.gz",
    "tag": "echo 'He reckons the deficit will narrow .' | nlpkit tag -m chunker -f jsonl",
    "tag predict": "echo 'He reckons the deficit will narrow .' | nlpkit tag predict -m chunker",
    "tag train": "nlpkit tag train corpora/conll2000/conll2000.train.txt.gz -o chunker",
    "tag eval": "nlpkit tag eval -m chunker corpora/conll2000/conll2000.test.txt.gz",
}


def install(root: Any) -> None:
    """Give ``root`` and every command below it the plain help formatter."""
    stack = [root]
    while stack:
        cmd = stack.pop()
        cmd.format_help = types.MethodType(format_help, cmd)
        for param in cmd.params:  # usage lines in error messages show these too
            if param.param_type_name == "argument" and param.metavar is None:
                param.metavar = _argument_metavar(param)
        stack.extend(getattr(cmd, "commands", {}).values())


def format_help(self: Any, ctx: Any, formatter: Any) -> None:
    set_metavars(self, ctx)
    self.format_usage(ctx, formatter)
    self.format_help_text(ctx, formatter)
    for title, rows in param_sections(self, ctx):
        formatter.write_paragraph()
        formatter.write_text(f"{title}:")
        write_rows(formatter, rows)
    if hasattr(self, "commands"):
        rows = [(name, first_paragraph(c.short_help or c.help or "")) for name, c in _visible(self, ctx)]
        if rows:
            formatter.write_paragraph()
            formatter.write_text("Commands:")
            write_rows(formatter, rows)
    example = example_of(self, ctx)
    if example:
        formatter.write_paragraph()
        formatter.write_text("Example:")
        for line in example.strip("\n").splitlines():
            formatter.write(" " * (formatter.current_indent + 2) + line.rstrip() + "\n")


def example_of(cmd: Any, ctx: Any) -> str:
    if cmd.epilog:
        return cmd.epilog
    return EXAMPLES.get(_path(ctx), "")


def _path(ctx: Any) -> str:
    names = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(reversed(names))


def _visible(group: Any, ctx: Any) -> list[tuple[str, Any]]:
    out = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if cmd is not None and not cmd.hidden:
            out.append((name, cmd))
    return out


def first_paragraph(text: str) -> str:
    return " ".join(textwrap.dedent(text).strip().split("\n\n")[0].split())


# -- metavars ---------------------------------------------------------------------------------

def metavar_for(param: Any, ctx: Any) -> str | None:
    """What a user types for ``param``: N, NUM, FILE, DIR, DURATION, TEXT, a|b|c; None for flags."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    shown = param.display_type(ctx) if hasattr(param, "display_type") else ""
    label = shown.strip("<>").removeprefix("list[").removesuffix("]")
    name, help_text = param.name or "", param.help or ""
    if "|" in label:
        return label
    if _BY_NAME.get(name) and label in ("str", "path", "file", "directory"):
        return _BY_NAME[name]
    if name in _DURATIONS and not label.startswith(("int", "float")):
        return "DURATION" if name == "max_time" else "N|DURATION"  # steps, or a time such as 15m
    if label.startswith("int"):
        return "N"
    if label.startswith("float"):
        return "NUM"
    if label in ("path", "file", "directory") or re.search(r"\b(DIR|FILE)\b", help_text):
        if label == "directory" or re.search(r"\bdir(ectory)?\b", help_text, re.IGNORECASE):
            return "DIR"
        return "FILE"
    if param.param_type_name == "argument":
        return None
    return "TEXT"


def _argument_metavar(param: Any) -> str:
    name = (param.name or "arg").upper()
    if param.nargs != 1:
        name = name[:-3] + "Y" if name.endswith("IES") else name[:-1] if name.endswith("S") else name
    return name


def set_metavars(cmd: Any, ctx: Any) -> None:
    for param in cmd.get_params(ctx):
        if param.metavar is not None:
            continue
        if param.param_type_name == "argument":
            param.metavar = _argument_metavar(param)
        elif hasattr(param, "display_type"):
            param.metavar = metavar_for(param, ctx)


# -- option sections --------------------------------------------------------------------------

def _record(param: Any, ctx: Any) -> tuple[str, str] | None:
    rv = param.get_help_record(ctx)
    if rv is None:
        return None
    if param.param_type_name == "argument":
        # Typer appends the Python type to an argument's name; show NAME or NAME... only.
        name = param.metavar or (param.name or "").upper()
        help_text = rv[1]
        return (name + ("..." if param.nargs != 1 else ""), help_text)
    return rv


def panel_of(param: Any, training: bool) -> str:
    explicit = getattr(param, "rich_help_panel", None)
    if explicit:
        return explicit
    name = param.name or ""
    if name == "model":
        return "Model"
    for panel, names in (("Input", _INPUT), ("Output", _OUTPUT), ("Device", _DEVICE)):
        if name in names:
            return panel
    if name in _TRAINING:
        return "Training" if training else ("Device" if name in ("batch_size", "max_tokens") else OPTIONS)
    return "Model" if training else OPTIONS


def param_sections(cmd: Any, ctx: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    args, opts, help_rec = [], [], []
    for param in cmd.get_params(ctx):
        rec = _record(param, ctx)
        if rec is None:
            continue
        if param.name == "help":
            help_rec = [rec]
        else:
            (args if param.param_type_name == "argument" else opts).append((param, rec))
    sections = [(ARGUMENTS, [r for _, r in args])] if args else []
    if len(opts) <= GROUP_OVER:
        return sections + [(OPTIONS, [r for _, r in opts] + help_rec)]
    training = any((p.name or "") in ("epochs", "steps", "lr") for p, _ in opts)
    panels: dict[str, list[tuple[str, str]]] = {}
    for param, rec in opts:
        panels.setdefault(panel_of(param, training), []).append(rec)
    order = [p for p in PANEL_ORDER if p in panels] + [p for p in panels if p not in PANEL_ORDER]
    panels[order[-1]] += help_rec
    return sections + [(f"{p} options" if p != OPTIONS else p, panels[p]) for p in order]


def write_rows(formatter: Any, rows: list[tuple[str, str]], col_max: int = 30, spacing: int = 2) -> None:
    """click's definition list, but terms are never cut and words never broken at hyphens."""
    indent = formatter.current_indent + 2
    first = min(max(len(term) for term, _ in rows), col_max) + spacing
    width = max(formatter.width - indent - first, 20)
    for term, text in rows:
        lines = textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False) if text else []
        if len(term) + spacing <= first and lines:
            formatter.write(" " * indent + term.ljust(first) + lines[0] + "\n")
            lines = lines[1:]
        else:
            formatter.write(" " * indent + term + "\n")
        for line in lines:
            formatter.write(" " * (indent + first) + line + "\n")
