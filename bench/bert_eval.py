"""Held-out MLM and NSP accuracy of a `bert pretrain` model, beside trivial baselines.

Pairs and masks are made from the held-out text exactly as in training (static, seeded), so two
models evaluated with the same options see the same examples. Baselines: always predicting the most
frequent masked token of the held-out set (MLM) and always predicting the majority NSP label.

    python bench/bert_eval.py -m MODEL --valid held_out.txt.gz --documents lines --batches 100 [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import Counter

import torch


def main() -> None:
    from nlpkit.bert.artifact import load_bert, special_ids
    from nlpkit.bert.config import PretrainConfig
    from nlpkit.bert.train import _specs
    from nlpkit.bert.stream import StreamSpec, batches, epoch_examples

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-m", "--model", required=True)
    p.add_argument("--valid", nargs="+", required=True)
    p.add_argument("--documents", default="blank-lines", choices=["blank-lines", "lines"])
    p.add_argument("--max-seq-len", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--batches", type=int, default=100)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()

    model, tok, config = load_bert(args.model)
    cfg = PretrainConfig(documents=args.documents, max_seq_len=args.max_seq_len, seed=args.seed)
    ids = special_ids(tok)
    pairs, masking = _specs(cfg, tok, ids)
    spec = StreamSpec(args.valid, args.documents, args.seed, 0, 1, True, 1)
    mlm_ok = mlm_n = nsp_ok = nsp_n = 0
    labels: Counter[int] = Counter()
    nsp_labels: Counter[int] = Counter()
    with torch.no_grad():
        for batch in itertools.islice(batches(epoch_examples(spec, tok, pairs, masking, 0), args.batch_size, ids.pad), args.batches):
            mlm, nsp = model(batch["input_ids"], batch["segment_ids"], batch["attention_mask"], batch["mlm_positions"])
            mlm_ok += int((mlm.argmax(-1) == batch["mlm_labels"]).sum())
            mlm_n += batch["mlm_labels"].numel()
            nsp_ok += int((nsp.argmax(-1) == batch["nsp_labels"]).sum())
            nsp_n += batch["nsp_labels"].numel()
            labels.update(batch["mlm_labels"].tolist())
            nsp_labels.update(batch["nsp_labels"].tolist())
    top_token, top_count = labels.most_common(1)[0]
    result = {
        "model": args.model,
        "step": config.get("results", {}).get("step"),
        "masked_tokens": mlm_n,
        "pairs": nsp_n,
        "mlm_accuracy": mlm_ok / mlm_n,
        "mlm_baseline_most_frequent": top_count / mlm_n,
        "most_frequent_token": tok.id_to_token(top_token),
        "nsp_accuracy": nsp_ok / nsp_n,
        "nsp_baseline_majority": max(nsp_labels.values()) / nsp_n,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key}\t{value:.4f}" if isinstance(value, float) else f"{key}\t{value}")


if __name__ == "__main__":
    main()
