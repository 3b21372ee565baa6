"""Decoding speed of `nlpkit translate`: sentences/s, greedy and beam 5, with and without the cache.

    python bench/translate.py split --out DIR                       # the held-out Tatoeba split (once)
    python bench/translate_decode.py train --out DIR --arch transformer --max-time 60
    python bench/translate_decode.py speed --out DIR --model DIR/decode-transformer --lines 1000 --threads 2

``train`` trains a model with the default settings of `nlpkit translate train` (the CLI, so the
defaults are the user's) for ``--max-time`` seconds, into DIR/decode-ARCH. ``speed`` translates
the first ``--lines`` German test sentences (DIR/test.de) once per beam size through
``translate_lines`` (the code behind `nlpkit translate`) and prints one JSON line per run and a
markdown table: seconds, sentences/s, decoder steps and hypothesis-steps (rows fed to the
decoder, summed over steps: the work, independent of the machine), and BLEU against DIR/test.en.
The last line compares beam 5 with greedy in time and in hypothesis-steps: beam search feeds K rows
per sentence and, with its exact stopping rule, runs past greedy's end (see ``--early-stop``), so
the time ratio is that work ratio times the cost of a row in beam's wider batch relative to greedy's.
For a Transformer it also decodes the first ``--uncached-lines`` sentences with the key/value cache
off (the decoder recomputes the whole prefix at every step, as before the cache) and checks that
both give the same translations; ``--early-stop`` adds a run of each beam with fairseq's
early stopping. Times are wall-clock on ``--threads`` torch threads; run on an
otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def train(out: Path, arch: str, max_time: float, threads: int) -> None:
    """Default settings, through the CLI; the split's files are English<TAB>German."""
    model = out / f"decode-{arch}"
    cmd = [sys.executable, "-m", "nlpkit_cli", "translate", "train", str(out / "train.tsv"), "-o", str(model),
           "--src-col", "2", "--tgt-col", "1", "--valid", str(out / "valid.tsv"), "--arch", arch,
           "--max-time", str(max_time), "--epochs", "1000", "--threads", str(threads), "--device", "cpu"]
    print(" ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True)


def count_steps(model) -> dict[str, int]:  # noqa: ANN001 - a translation model
    """Wrap ``model.step`` to count decoder calls and the hypotheses fed to each."""
    counts = {"steps": 0, "rows": 0}
    step = model.step

    def counted(state, tokens):  # noqa: ANN001, ANN202
        counts["steps"] += 1
        counts["rows"] += tokens.size(0)
        return step(state, tokens)

    model.step = counted
    return counts


def run(translator, lines: list[str], refs: list[str], beam: int, cache: bool, early_stop: bool = False) -> dict:  # noqa: ANN001
    from nlpkit.translate.beam import BeamConfig
    from nlpkit.translate.bleu import corpus_bleu
    from nlpkit.translate.decode import translate_lines

    model = translator.model
    model.kv_cache = cache
    counts = count_steps(model)
    try:
        start = time.perf_counter()
        texts = [t.text for t in translate_lines(translator, lines, BeamConfig(beam=beam, early_stop=early_stop))]
        seconds = time.perf_counter() - start
    finally:
        del model.step  # back to the class's method
    return {
        "beam": beam, "cache": cache, "early_stop": early_stop, "sentences": len(lines), "seconds": round(seconds, 3),
        "sentences_per_s": round(len(lines) / seconds, 2), "steps": counts["steps"], "hyp_steps": counts["rows"],
        "bleu": round(corpus_bleu(texts, refs).score, 2), "texts": texts,
    }


def speed(out: Path, model_dir: Path, n_lines: int, uncached_lines: int, beams: list[int], threads: int,
          early_stop: bool = False) -> None:
    from nlpkit.device import set_threads
    from nlpkit.translate.model import load_translator

    set_threads(threads)
    translator = load_translator(model_dir, "cpu")
    lines = (out / "test.de").read_text(encoding="utf-8").splitlines()[:n_lines]
    refs = (out / "test.en").read_text(encoding="utf-8").splitlines()[: len(lines)]
    transformer = translator.config["model"]["arch"] == "transformer"
    results = []
    for beam in beams:
        results.append(run(translator, lines, refs, beam, cache=True))
        if transformer and uncached_lines > 0:
            k = min(uncached_lines, len(lines))
            slow = run(translator, lines[:k], refs[:k], beam, cache=False)
            slow["same_as_cached"] = slow["texts"] == results[-1]["texts"][:k]
            results.append(slow)
        if early_stop and beam > 1:
            results.append(run(translator, lines, refs, beam, cache=True, early_stop=True))
    for r in results:
        print(json.dumps({k: v for k, v in r.items() if k != "texts"}))
    print(table(results, translator.config["model"]["arch"], threads))


def table(results: list[dict], arch: str, threads: int) -> str:
    rows = [f"| {arch} ({threads} threads) | beam | KV cache | sentences | seconds | sentences/s | steps | hypothesis-steps | BLEU |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        cache = "yes" if r["cache"] else "no (recompute prefix)"
        beam = f"{r['beam']} early-stop" if r["early_stop"] else str(r["beam"])
        rows.append(f"| | {beam} | {cache} | {r['sentences']} | {r['seconds']:.1f} | {r['sentences_per_s']:.1f} | "
                    f"{r['steps']} | {r['hyp_steps']} | {r['bleu']:.2f} |")
    greedy = next((r for r in results if r["beam"] == 1 and r["cache"]), None)
    beam5 = next((r for r in results if r["beam"] == 5 and r["cache"] and not r["early_stop"]), None)
    if greedy and beam5 and greedy["sentences"] == beam5["sentences"]:
        rows.append(f"\nbeam 5 / greedy time: {beam5['seconds'] / greedy['seconds']:.2f}x; hypothesis-steps (rows fed to "
                    f"the decoder): {beam5['hyp_steps'] / greedy['hyp_steps']:.2f}x")
    return "\n".join(rows)


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=["train", "speed"])
    p.add_argument("--out", type=Path, required=True, help="the split directory of bench/translate.py")
    p.add_argument("--arch", default="transformer", choices=["transformer", "rnn-attn", "rnn"])
    p.add_argument("--max-time", type=float, default=60.0)
    p.add_argument("--model", type=Path, help="model directory (default DIR/decode-ARCH)")
    p.add_argument("--lines", type=int, default=1000)
    p.add_argument("--uncached-lines", type=int, default=200, help="sentences decoded without the cache (0: skip)")
    p.add_argument("--beams", default="1,5")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--early-stop", action="store_true", help="also decode each beam > 1 with --early-stop")
    args = p.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if args.step == "train":
        train(args.out, args.arch, args.max_time, args.threads)
    else:
        model = args.model or args.out / f"decode-{args.arch}"
        beams = [int(b) for b in args.beams.split(",")]
        speed(args.out, model, args.lines, args.uncached_lines, beams, args.threads, args.early_stop)


if __name__ == "__main__":
    main(sys.argv[1:])
