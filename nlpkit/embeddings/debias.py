"""Hard debiasing of word vectors after Bolukbasi et al. 2016 (numpy only).

1. Bias direction: centre each definitional pair (woman/man, she/he, ...) on its mean and take
   the first principal component of the centred unit vectors.
2. Neutralise: every word that is not gender-specific loses its component along the direction.
3. Equalise: each equalize pair (and its Title/UPPER forms) is moved to be symmetric about the
   neutral subspace, so both words end equally far from every neutral word.
Works on unit vectors (as the reference code does); the output model stores the debiased unit
vectors. Word lists ship in ``nlpkit/data`` (see its README for their origin): the gender-specific
set is the reference's full 1,441-word list (``--gender-specific FILE`` replaces it), and the
report projects its 320 professions on the direction before and after.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from nlpkit.embeddings.evaluate import evaluate_analogies
from nlpkit.embeddings.training import publish_vectors
from nlpkit.artifacts import check_output
from nlpkit.embeddings.vectors import KIND, WordVectors
from nlpkit.errors import ConfigError
from nlpkit.locking import output_lock


def word_list(name: str) -> Any:
    """One of the shipped lists: definitional_pairs, equalize_pairs, gender_specific_full, gender_specific_seed, professions."""
    return json.loads(resources.files("nlpkit").joinpath("data", f"{name}.json").read_text(encoding="utf-8"))


def professions() -> list[str]:
    """The reference's 320 profession words (the file also holds two bias scores per word)."""
    return [p[0] if isinstance(p, list) else p for p in word_list("professions")]


def read_word_file(path: str | Path) -> list[str]:
    """A JSON list of words, or one word per line (blank lines and ``#`` comments skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}", "give a JSON list or a file with one word per line") from None
    if text.lstrip().startswith("["):
        try:
            words = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path} is not valid JSON ({e.msg}, line {e.lineno})", "give a JSON list of words") from None
        if not all(isinstance(w, str) for w in words):
            raise ConfigError(f"{path} must be a JSON list of strings", None)
        return words
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _rows(wv: WordVectors, words: list[str]) -> list[int | None]:
    return [wv.lookup(w) for w in words]


def bias_direction(unit: np.ndarray, pairs: list[tuple[int, int]]) -> tuple[np.ndarray, float]:
    """First principal component of the centred pair vectors, oriented towards the first words."""
    centred = []
    for a, b in pairs:
        mid = (unit[a] + unit[b]) / 2
        centred += [unit[a] - mid, unit[b] - mid]
    m = np.asarray(centred, dtype=np.float64)  # (2P, D)
    _, s, vt = np.linalg.svd(m, full_matrices=False)
    g = vt[0]
    if np.mean([(unit[a] - unit[b]) @ g for a, b in pairs]) < 0:
        g = -g
    return g.astype(np.float32), float(s[0] ** 2 / (s**2).sum())


def hard_debias(unit: np.ndarray, g: np.ndarray, specific: set[int], equalize: list[tuple[int, int]]) -> np.ndarray:
    """Neutralise every row not in ``specific``, then equalise the pairs; returns unit rows."""
    out = np.array(unit, dtype=np.float32)  # (V, D) copy
    neutral = np.ones(len(out), dtype=bool)
    neutral[list(specific)] = False
    out[neutral] -= np.outer(out[neutral] @ g, g)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    for a, b in equalize:
        mu = (out[a] + out[b]) / 2
        mu_neutral = mu - (mu @ g) * g
        z = np.sqrt(max(0.0, 1.0 - float(mu_neutral @ mu_neutral)))
        if (out[a] - out[b]) @ g < 0:
            z = -z
        out[a], out[b] = z * g + mu_neutral, -z * g + mu_neutral
    return out


def _pairs(wv: WordVectors, pairs: list[list[str]], case_variants: bool = False) -> list[tuple[int, int]]:
    found, seen = [], set()
    for a, b in pairs:
        variants = [(a, b), (a.lower(), b.lower()), (a.title(), b.title()), (a.upper(), b.upper())] if case_variants else [(a, b)]
        for x, y in variants:
            i, j = wv.index.get(x), wv.index.get(y)
            if i is None and j is None and not case_variants:
                i, j = wv.lookup(x), wv.lookup(y)
            if i is not None and j is not None and i != j and (i, j) not in seen:
                seen.add((i, j))
                found.append((i, j))
    return found


def _projections(unit: np.ndarray, g: np.ndarray, wv: WordVectors, words: list[str]) -> dict[str, float]:
    return {w: round(float(unit[i] @ g), 4) for w, i in zip(words, _rows(wv, words)) if i is not None}


def _summary(proj: dict[str, float]) -> dict[str, Any]:
    ranked = sorted(proj.items(), key=lambda kv: kv[1])
    values = np.array(list(proj.values())) if proj else np.zeros(1)
    return {
        "mean_abs": round(float(np.abs(values).mean()), 4),
        "most_first": [w for w, _ in ranked[::-1][:5]],  # towards the first word of each pair (woman, she, ...)
        "most_second": [w for w, _ in ranked[:5]],  # towards the second (man, he, ...)
    }


def debias_model(
    model_dir: str | Path,
    out_dir: str | Path,
    *,
    analogies: str | Path | None = None,
    restrict_vocab: int = 30000,
    gender_specific: str | Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Debias ``model_dir`` into ``out_dir``; returns the before/after report."""
    check_output(out_dir, KIND, force)
    wv = WordVectors.load(model_dir, subwords=False)  # the vocabulary's vectors only: word lists must not reach n-gram rows
    unit = np.asarray(wv.unit)
    definitional = _pairs(wv, word_list("definitional_pairs"))
    if len(definitional) < 2:
        raise ConfigError(f"{model_dir} knows fewer than 2 definitional pairs (woman/man, she/he, ...)", "debias an English model")
    g, explained = bias_direction(unit, definitional)
    listed = read_word_file(gender_specific) if gender_specific is not None else word_list("gender_specific_full")
    specific = {i for i in _rows(wv, listed) if i is not None}
    specific |= {i for pair in definitional for i in pair}
    equalize = _pairs(wv, word_list("equalize_pairs"), case_variants=True)
    specific |= {i for pair in equalize for i in pair}
    debiased = hard_debias(unit, g, specific, equalize)
    jobs = professions()
    before, after = _projections(unit, g, wv, jobs), _projections(debiased, g, wv, jobs)
    report: dict[str, Any] = {
        "model": str(model_dir), "output": str(out_dir),
        "definitional_pairs": len(definitional), "explained_variance": round(explained, 4),
        "gender_specific_list": str(gender_specific) if gender_specific is not None else "gender_specific_full",
        "gender_specific_listed": len(listed),
        "gender_specific_words": len(specific), "equalized_pairs": len(equalize), "neutralized_words": len(wv) - len(specific),
        "professions": {"listed": len(jobs), "found": len(before), "before": _summary(before), "after": _summary(after),
                        "projections_before": before, "projections_after": after},
    }
    out_wv = WordVectors.from_matrix(wv.words, debiased, wv.vocab.counts)
    if analogies is not None:
        report["analogy_accuracy"] = _analogy_change(wv, out_wv, analogies, restrict_vocab)
    model = dict(wv.config.get("model", {}))
    model.pop("subwords", None)  # n-gram vectors are not debiased: the output has vocabulary vectors only
    with output_lock(out_dir):
        publish_vectors(Path(out_dir), wv.vocab, debiased, model, {"debiased_from": str(model_dir)}, {"debias": {k: report[k] for k in ("definitional_pairs", "equalized_pairs", "neutralized_words", "gender_specific_list")}}, force=force)
    return report


def _analogy_change(wv: WordVectors, out_wv: WordVectors, analogies: str | Path, restrict_vocab: int) -> dict[str, Any]:
    """Accuracy before and after, overall and on the family section (the gendered analogies)."""
    result: dict[str, Any] = {"file": str(analogies), "restrict_vocab": restrict_vocab}
    for when, x in (("before", wv), ("after", out_wv)):
        report = evaluate_analogies(x, analogies, restrict_vocab=restrict_vocab).as_dict()
        family = next((s for s in report["sections"] if s["section"] == "family"), None)
        result[when] = report["total"]["accuracy"]
        result[f"family_{when}"] = None if family is None else family["accuracy"]
        result["family_questions"] = None if family is None else family["total"]
    return result


def report_text(report: dict[str, Any]) -> str:
    p = report["professions"]
    lines = [
        f"bias direction: first principal component of {report['definitional_pairs']} definitional pairs ({100 * report['explained_variance']:.1f}% of their variance)",
        f"neutralised {report['neutralized_words']} words; kept {report['gender_specific_words']} gender-specific "
        f"({report['gender_specific_list']}: {report['gender_specific_listed']} listed, plus the pairs); equalised {report['equalized_pairs']} pairs",
        f"profession words on the direction ({p['found']} of {p['listed']} found): mean |projection| {p['before']['mean_abs']:.4f} before, {p['after']['mean_abs']:.4f} after",
        f"  before, most she-side: {', '.join(p['before']['most_first'])}",
        f"  before, most he-side:  {', '.join(p['before']['most_second'])}",
    ]
    if "analogy_accuracy" in report:
        a = report["analogy_accuracy"]
        lines.append(f"analogy accuracy (restrict {a['restrict_vocab']}): {100 * a['before']:.2f}% before, {100 * a['after']:.2f}% after")
        if a["family_before"] is not None:
            lines.append(f"  family section ({a['family_questions']} questions): {100 * a['family_before']:.2f}% before, {100 * a['family_after']:.2f}% after")
    lines.append(f"wrote {report['output']}")
    return "\n".join(lines)
