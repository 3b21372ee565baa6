"""Pre-training step throughput: nlpkit BERT vs transformers' BertForPreTraining, same shapes.

One step = forward + MLM and NSP losses + backward + global-norm clipping + AdamW, on one synthetic
batch (random token ids, full-length sequences, 15% of positions to predict, random NSP labels).
The two are timed alternately, round after round, so that load from other processes hits both
alike; the median step time of each is reported with the ratio. nlpkit computes the vocabulary
projection only at the masked positions, as the original BERT does; transformers computes it at
every position. ``--variants`` adds nlpkit with the projection at every position, to show how much
of the gap that one choice is.

    python bench/bert.py                      # hidden 256, 4 layers, seq 128, batch 32 (the issue's shapes)
    python bench/bert.py --rounds 5 --steps 3 --json

Needs ``transformers`` (bench/requirements-bert.txt). Prints one line per round to stderr and a
summary (text or JSON) to stdout.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def synthetic_batch(batch: int, seq: int, vocab: int, mlm_prob: float, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, vocab, (batch, seq), generator=g)  # (B, T)
    segments = torch.zeros(batch, seq, dtype=torch.long)
    segments[:, seq // 2 :] = 1
    n = max(1, round((seq - 3) * mlm_prob))
    positions = torch.stack([torch.randperm(seq - 2, generator=g)[:n] + 1 for _ in range(batch)]).sort(-1).values  # (B, n)
    flat = (positions + torch.arange(batch).unsqueeze(1) * seq).flatten()  # (B * n,)
    labels = ids.flatten()[flat]
    hf_labels = torch.full((batch * seq,), -100, dtype=torch.long)
    hf_labels[flat] = labels
    return {
        "input_ids": ids, "segment_ids": segments, "attention_mask": torch.ones_like(ids),
        "mlm_positions": flat, "mlm_labels": labels, "hf_labels": hf_labels.view(batch, seq),
        "nsp_labels": torch.randint(0, 2, (batch,), generator=g),
    }


def adamw(model: torch.nn.Module) -> torch.optim.Optimizer:
    """transformers' Trainer default (adamw_torch_fused) for the peer."""
    return torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01, fused=True)


def nlpkit_step(all_positions: bool = False):  # noqa: ANN201
    def make(args: argparse.Namespace):  # noqa: ANN202
        from nlpkit.bert.config import PretrainConfig
        from nlpkit.bert.model import Bert, BertConfig
        from nlpkit.bert.train import make_optimizer

        model = Bert(BertConfig(vocab_size=args.vocab, hidden=args.hidden, layers=args.layers, heads=args.heads, intermediate=args.intermediate))
        opt = make_optimizer(model, PretrainConfig(), torch.device("cpu"))  # what `bert pretrain` uses

        def step(b: dict[str, torch.Tensor]) -> float:
            if all_positions:
                mlm, nsp = model(b["input_ids"], b["segment_ids"], b["attention_mask"])  # (B, T, V)
                mlm_loss = F.cross_entropy(mlm.view(-1, mlm.shape[-1]), b["hf_labels"].view(-1), ignore_index=-100)
            else:
                mlm, nsp = model(b["input_ids"], b["segment_ids"], b["attention_mask"], b["mlm_positions"])  # (N, V)
                mlm_loss = F.cross_entropy(mlm, b["mlm_labels"])
            loss = mlm_loss + F.cross_entropy(nsp, b["nsp_labels"])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            opt.zero_grad(set_to_none=True)
            return float(loss.detach())

        return model, step

    return make


def hf_step(args: argparse.Namespace):  # noqa: ANN201
    from transformers import BertConfig, BertForPreTraining

    config = BertConfig(
        vocab_size=args.vocab, hidden_size=args.hidden, num_hidden_layers=args.layers, num_attention_heads=args.heads,
        intermediate_size=args.intermediate, max_position_embeddings=512, attn_implementation=args.hf_attention,
    )
    model = BertForPreTraining(config)
    model.train()
    opt = adamw(model)

    def step(b: dict[str, torch.Tensor]) -> float:
        out = model(input_ids=b["input_ids"], token_type_ids=b["segment_ids"], attention_mask=b["attention_mask"],
                    labels=b["hf_labels"], next_sentence_label=b["nsp_labels"])
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(out.loss.detach())

    return model, step


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--intermediate", type=int, default=1024)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--vocab", type=int, default=30522, help="bert-base-uncased's vocabulary size")
    p.add_argument("--mlm-prob", type=float, default=0.15)
    p.add_argument("--rounds", type=int, default=4, help="alternating rounds")
    p.add_argument("--steps", type=int, default=3, help="timed steps per system per round (after one warm-up step)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--hf-attention", default="sdpa", choices=["sdpa", "eager"], help="transformers' attention implementation")
    p.add_argument("--variants", action="store_true", help="also time nlpkit with the MLM projection at every position")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batch = synthetic_batch(args.batch, args.seq, args.vocab, args.mlm_prob)
    systems = {"nlpkit": nlpkit_step()(args), "transformers": hf_step(args)}
    if args.variants:
        systems["nlpkit_all_positions"] = nlpkit_step(all_positions=True)(args)
    times: dict[str, list[float]] = {name: [] for name in systems}
    for name, (_, step) in systems.items():
        step(batch)  # warm-up: allocator, kernels, optimizer state
    for r in range(args.rounds):
        for name, (_, step) in systems.items():
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step(batch)
            times[name].append((time.perf_counter() - t0) / args.steps)
        print(f"round {r + 1}: " + "  ".join(f"{n} {t[-1]:.3f} s/step" for n, t in times.items()), file=sys.stderr)
    median = {n: statistics.median(t) for n, t in times.items()}
    tokens = args.batch * args.seq
    result = {
        "shapes": {k: getattr(args, k) for k in ("hidden", "layers", "heads", "intermediate", "seq", "batch", "vocab")},
        "threads": torch.get_num_threads(),
        "hf_attention": args.hf_attention,
        "seconds_per_step": median,
        "tokens_per_s": {n: tokens / t for n, t in median.items()},
        "speedup_vs_transformers": median["transformers"] / median["nlpkit"],
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for n, t in median.items():
        print(f"{n:24s} {t:7.3f} s/step  {tokens / t:9.0f} tokens/s")
    print(f"speed-up of nlpkit over transformers: {result['speedup_vs_transformers']:.2f}x (median of {args.rounds} alternating rounds)")


if __name__ == "__main__":
    main()
