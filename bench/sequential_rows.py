"""Every row on the cheap path: fixed-N CERTIFY against the sequential procedure (radius and decision mode) for the
rows that re-read a model's certifications at other levels, side by side on one demo model's test digits.

    python bench/sequential_rows.py                      # insta-s3 and cohen-0.50, N = 100000, 100 test digits
    python bench/sequential_rows.py --models cohen-0.50 --examples 20 --n 10000

Per model and procedure, the workflow's own steps run on the same examples with the same seeds: every noise level
is certified (``insta_rs.certification.runner.certify_to_tsv``, resumable under ``--out``), under the sequential procedure
settling the readings the workflow gives a model's level certifications (the alpha/K envelope, the cascade, Dual RS's
classifier; ``insta_rs.workflow.plan.Plan.level_readings``), and Dual RS's selector is certified with its own seed and share of
alpha. The rows are then computed as the tables compute them: the fixed sigma (one level), the oracle envelope at
alpha/K (``insta_rs.analysis.oracle_envelope``), the cascade (``insta_rs.sound.cascade``) and Dual RS
(``insta_rs.sound.dual``). Printed per row: estimation forward passes per example of the certifications the row reads
(the N0 selection passes are the same for every procedure), their fraction of fixed-N's, ACR and its ratio to
fixed-N's, certified accuracy at the table radii with its binomial standard error, and the largest gap to fixed-N's
certified accuracy in standard errors. Radius mode runs at the default tolerance (2 %) and at 3 %. A summary checks the
targets: radius mode at least 0.97 of fixed-N's ACR at no more than 0.45 of its passes; decision mode certified
accuracy within one standard error at no more than 0.15.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from insta_rs.analysis import acr, aligned_levels, certified_accuracy, oracle_envelope
from insta_rs.certification.procedures import Cohen, Procedure, Sequential
from insta_rs.certification.records import read_certification
from insta_rs.certification.runner import CertifySettings, certify_to_tsv
from insta_rs.certification.sequential import Reading
from insta_rs.certification.sequential_settings import TABLE_RADII, SequentialSettings
from insta_rs.data.datasets import test_tensors
from insta_rs.levels import level_sigma
from insta_rs.runtime.device import resolve_device
from insta_rs.sound import dual
from insta_rs.sound.cascade import cascade_frame
from insta_rs.workflow.steps import make_smoother

logger = logging.getLogger("bench.sequential_rows")
DIGITS = {"name": "digits", "num_classes": 10, "validation_size": 200, "test_subset": {"all": True}}
# The fixed sigma of each demo model: its training level (cohen-0.50), the level validation_best chooses (insta-s3).
FIXED_LEVEL = {"cohen-0.50": 4, "insta-s3": 3}


@dataclass(frozen=True)
class Setting:
    """The demo's protocol and Dual RS settings (config.yaml)."""

    n: int
    n0: int
    alpha: float
    seed: int
    n_levels: int = 16
    sigma0: float = 0.25
    candidates: tuple[int, ...] = (1, 2, 4, 8, 16)
    selector_share: float = 0.5
    selector_seed: int = 1
    sigma_sel: float = 0.35
    p0: float = 0.5

    def readings(self) -> tuple[Reading, ...]:
        """The readings the workflow gives the level certifications of a model with every sound row."""
        return (Reading(1 / self.n_levels), Reading(1 / (2 * self.n_levels), self.p0), Reading(1 - self.selector_share))


def procedures(setting: Setting) -> dict[str, tuple[Procedure, Procedure]]:
    """``{name: (the levels' procedure, the selector's)}``: the selector's certification has no other readings.
    Radius mode at the default tolerance (2 %) and at 3 %, decision mode."""
    named = {"sequential radius": SequentialSettings(), "sequential radius 3%": SequentialSettings(tolerance=0.03),
             "sequential decision": SequentialSettings(mode="decision")}
    return {"fixed-N": (Cohen(), Cohen()),
            **{name: (Sequential(settings, setting.readings()), Sequential(settings)) for name, settings in named.items()}}


def certify_model(model: str, procedure_name: str, procedure: Procedure, selector_procedure: Procedure,
                  setting: Setting, args: argparse.Namespace) -> tuple[dict[int, pd.DataFrame], pd.DataFrame]:
    """Every level's certification and the selector's (TSVs under ``--out``, resumed when present)."""
    x, labels, idx = test_tensors(DIGITS)
    x, labels, idx = x[:args.examples], labels.numpy()[:args.examples], idx.numpy()[:args.examples]
    device = resolve_device(args.device)
    folder = Path(args.out) / model / procedure_name.replace(" ", "_")
    chunk = max(64, 16 * args.batch_size // (setting.n0 + setting.n))
    classifier = make_smoother(str(Path(args.models_dir) / model / "checkpoint.pt"), args.batch_size, device, "fp32")
    levels = {}
    for level in range(1, setting.n_levels + 1):
        path = folder / f"level{level}.tsv"
        if not path.exists():
            logger.info("%s, %s: level %d", model, procedure_name, level)
            certify_to_tsv(classifier, x, labels, idx, np.full(len(idx), level_sigma(level, setting.sigma0)), path,
                           CertifySettings(setting.n0, setting.n, setting.alpha, setting.seed, procedure, False), chunk)
        levels[level] = read_certification(path)
    path = folder / "selector.tsv"
    if not path.exists():
        selector = make_smoother(str(Path(args.models_dir) / model / "selector.pt"), args.batch_size, device, "fp32")
        settings = CertifySettings(setting.n0, setting.n, setting.selector_share * setting.alpha, setting.selector_seed,
                                   selector_procedure, False)
        certify_to_tsv(selector, x, labels, idx, np.full(len(idx), setting.sigma_sel), path, settings, chunk)
    return levels, read_certification(path)


@dataclass(frozen=True)
class Row:
    """One row's certification and the estimation passes per example of the certifications it reads."""

    frame: pd.DataFrame
    passes: float


def rows(model: str, levels: dict[int, pd.DataFrame], selector: pd.DataFrame, setting: Setting) -> dict[str, Row]:
    aligned = aligned_levels(levels)
    passes = {level: float(frame["n_used"].mean()) for level, frame in aligned.items()}
    every_level = sum(passes.values())
    classifier = dual.classifier_from_levels(aligned, dual.selector_assignment(selector, setting.candidates,
                                                                               setting.sigma0),
                                             (1 - setting.selector_share) * setting.alpha)
    fixed = FIXED_LEVEL.get(model, 1)
    return {f"fixed sigma (level {fixed})": Row(aligned[fixed], passes[fixed]),
            "oracle envelope, alpha/K": Row(oracle_envelope(aligned, alpha_correction=True), every_level),
            "cascade": Row(cascade_frame(aligned, setting.p0), every_level),
            "Dual RS": Row(dual.dual_frame(selector, classifier, setting.candidates, setting.sigma0),
                           float(selector["n_used"].mean()) + sum(passes[k] for k in setting.candidates))}


def print_model(model: str, results: dict[str, dict[str, Row]], setting: Setting) -> list[dict]:
    """The Markdown table of one model; returns the figures the summary checks."""
    fixed = results["fixed-N"]
    n_examples = len(next(iter(fixed.values())).frame)
    radii = " | ".join(f"r={r:.2f}" for r in TABLE_RADII)
    print(f"\n### {model}, {n_examples} test digits\n")
    print(f"| row | procedure | passes / example | of fixed-N | ACR | ACR / fixed-N | {radii} | max gap / SE |")
    print("|---|---|---:|---:|---:|---:|" + "---:|" * len(TABLE_RADII) + "---:|")
    figures = []
    for row_name in fixed:
        reference = fixed[row_name]
        reference_acr = acr(reference.frame)
        reference_ca = certified_accuracy(reference.frame, TABLE_RADII)
        se = np.sqrt(reference_ca * (1 - reference_ca) / n_examples)
        for procedure_name, rows_of in results.items():
            row = rows_of[row_name]
            ca = certified_accuracy(row.frame, TABLE_RADII)
            gap = float(np.max(np.abs(ca - reference_ca) / np.maximum(se, 1 / n_examples)))
            ratio = acr(row.frame) / reference_acr if reference_acr > 0 else float("nan")
            cells = " | ".join(f"{value:.3f} ± {error:.3f}" for value, error in
                               zip(ca, np.sqrt(ca * (1 - ca) / n_examples)))
            print(f"| {row_name} | {procedure_name} | {row.passes:,.0f} | {row.passes / reference.passes:.3f} | "
                  f"{acr(row.frame):.4f} | {ratio:.4f} | {cells} | {gap:.2f} |")
            figures.append({"model": model, "row": row_name, "procedure": procedure_name,
                            "passes": row.passes / reference.passes, "acr_ratio": ratio, "gap": gap})
    return figures


def print_summary(figures: list[dict]) -> None:
    """Per model, row and sequential procedure: the targets (radius mode: at least 0.97 of fixed-N's ACR at no more
    than 0.45 of its passes; decision mode: certified accuracy within one standard error at no more than 0.15)."""
    print("\n### Targets\n")
    print("| model | row | procedure | passes (radius <= 0.45, decision <= 0.15) | ACR / fixed-N (radius >= 0.97) | "
          "max gap / SE (decision <= 1) |")
    print("|---|---|---|---:|---:|---:|")

    def mark(ok: bool) -> str:
        return "" if ok else " (missed)"

    for figure in figures:
        if figure["procedure"] == "fixed-N":
            continue
        decision = "decision" in figure["procedure"]
        passes_ok = figure["passes"] <= (0.15 if decision else 0.45)
        acr = f"{figure['acr_ratio']:.4f}" + ("" if decision else mark(figure["acr_ratio"] >= 0.97))
        gap = f"{figure['gap']:.2f}" + (mark(figure["gap"] <= 1) if decision else "")
        print(f"| {figure['model']} | {figure['row']} | {figure['procedure']} | {figure['passes']:.3f}{mark(passes_ok)} "
              f"| {acr} | {gap} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", default="results/demo/models", help="holds <model>/checkpoint.pt, selector.pt")
    parser.add_argument("--models", nargs="*", default=["insta-s3", "cohen-0.50"])
    parser.add_argument("--out", default="results/bench/sequential_rows", help="certifications (resumed when present)")
    parser.add_argument("--n", type=int, default=100_000, help="fixed-N samples, the cap of the sequential procedure")
    parser.add_argument("--n0", type=int, default=100)
    parser.add_argument("--alpha", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=100, help="the first k test digits")
    parser.add_argument("--batch-size", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    setting = Setting(n=args.n, n0=args.n0, alpha=args.alpha, seed=args.seed)
    print(f"N = {args.n}, N0 = {args.n0}, alpha = {args.alpha}, seed {args.seed}; Dual RS: candidates "
          f"{list(setting.candidates)}, sigma_sel {setting.sigma_sel}, selector share {setting.selector_share}; cascade "
          f"p0 {setting.p0}; sequential readings of the levels: "
          f"{', '.join(reading.label for reading in setting.readings())} of alpha.")
    print("Passes: estimation forward passes per example of every certification a row reads (the fixed sigma: one "
          "level; the envelope and the cascade: every level; Dual RS: the selector and the candidate levels). "
          "Decision mode reports table radii, so its ACR is floored to them; compare its certified accuracy.")
    figures = []
    for model in args.models:
        if not (Path(args.models_dir) / model / "selector.pt").exists():
            print(f"\n(no {Path(args.models_dir) / model}/selector.pt: skipped; run the demo workflow first)")
            continue
        results = {name: rows(model, *certify_model(model, name, *pair, setting, args), setting)
                   for name, pair in procedures(setting).items()}
        figures += print_model(model, results, setting)
    if figures:
        print_summary(figures)


if __name__ == "__main__":
    main()
