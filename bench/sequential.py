"""Sequential CERTIFY against fixed-N CERTIFY: forward passes, ACR and certified accuracy, side by side.

    python bench/sequential.py                      # demo models at their training levels, N = 100000
    python bench/sequential.py --models cohen-0.25 --levels 1 --n 20000 --examples 100

Per model, every procedure runs on the same examples with the same seed, so selection is identical and an
example that runs to the cap sees exactly fixed-N CERTIFY's samples (the comparison is paired): fixed-N
Cohen, sequential radius mode at the default tolerance (and any --extra-tolerances), and decision mode for
the table radii. Printed per model: mean estimation forward passes per example (the N0 selection passes are
the same for every procedure and not counted) and their fraction of fixed-N, ACR and its ratio to fixed-N,
certified accuracy at each table radius with its binomial standard error, and quantiles of the per-example
radius loss of radius mode against fixed-N. The analytic classifier (a linear classifier, sigma 0.5, inputs
at known distances from its boundary) adds the count of false certificates. A summary checks the targets:
radius mode at most 1/3 of fixed-N's passes with ACR at least 0.98 of fixed-N; decision mode at most 1/10,
with certified accuracy at every table radius within one standard error of fixed-N.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from scipy.stats import norm

from insta_rs.certification.procedures import Cohen, Procedure, Sequential
from insta_rs.certification.sequential import SequentialRule
from insta_rs.certification.sequential_settings import TABLE_RADII, SequentialSettings
from insta_rs.certification.smoothing import Smoother
from insta_rs.data.datasets import test_tensors
from insta_rs.levels import level_sigma
from insta_rs.models.checkpoints import load_model
from insta_rs.runtime.device import resolve_device
from insta_rs.runtime.runlog import Progress

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the analytic classifier is a test fixture
from analytic import LinearBinary  # noqa: E402

logger = logging.getLogger("bench.sequential")
DEMO_MODELS = {"cohen-0.25": 1, "cohen-0.50": 4, "cohen-1.00": 16, "smoothadv-1.00": 16, "macer-1.00": 16}
DIGITS = {"name": "digits", "num_classes": 10, "validation_size": 200, "test_subset": {"all": True}}
LOSS_QUANTILES = (0.5, 0.9, 0.99, 1.0)


@dataclass
class Run:
    """One procedure's certificates of a workload."""

    name: str
    predict: np.ndarray
    radius: np.ndarray
    n_used: np.ndarray
    seconds: float

    def correct_radius(self, labels: np.ndarray) -> np.ndarray:
        """The radius where the certified class is the label, 0 elsewhere (abstentions included)."""
        return np.where(self.predict == labels, self.radius, 0.0)

    def certified_accuracy(self, labels: np.ndarray) -> np.ndarray:
        correct = self.predict == labels
        return np.array([np.mean(correct & (self.radius >= r)) for r in TABLE_RADII])


def certify_all(workload: str, name: str, procedure: Procedure, smoother: Smoother, x: torch.Tensor, sigma: float,
                args: argparse.Namespace) -> Run:
    """Certify every example with ``procedure`` in chunks of ``args.chunk``, logging progress."""
    sigmas, idx = np.full(len(x), sigma), np.arange(len(x))
    parts, progress = [], Progress(logger, len(x), f"examples certified ({workload}, {name})")
    start = time.perf_counter()
    for begin in range(0, len(x), args.chunk):
        chunk = slice(begin, begin + args.chunk)
        parts.append(procedure.certify(smoother, x[chunk], sigmas[chunk], idx[chunk], args.n0, args.n,
                                       args.alpha, args.seed))
        progress.update(len(parts[-1].predict))
    fields = (np.concatenate([getattr(part, field) for part in parts]) for field in ("predict", "radius", "n_used"))
    return Run(name, *fields, time.perf_counter() - start)


def procedures(args: argparse.Namespace) -> list[tuple[str, Procedure]]:
    default = SequentialSettings()
    radius_modes = [default] + [SequentialSettings(tolerance=t) for t in args.extra_tolerances]
    return ([("fixed-N Cohen", Cohen())]
            + [(f"sequential radius, {s.tolerance_kind} tolerance {s.tolerance:g}", Sequential(s)) for s in radius_modes]
            + [("sequential decision", Sequential(SequentialSettings(mode="decision")))])


def print_model_table(title: str, runs: list[Run], labels: np.ndarray, n: int,
                      distance: np.ndarray | None = None) -> dict:
    """The Markdown table of one workload; returns the figures the summary checks."""
    fixed = runs[0]
    fixed_acr = fixed.correct_radius(labels).mean()
    fixed_ca = fixed.certified_accuracy(labels)
    m = len(labels)
    print(f"\n### {title}\n")
    radii = " | ".join(f"r={r:.2f}" for r in TABLE_RADII)
    extra = " | false certificates" if distance is not None else ""
    print(f"| procedure | forward passes / example | of fixed-N | ACR | ACR / fixed-N | wall s | {radii}{extra} |")
    print("|---|---:|---:|---:|---:|---:|" + "---:|" * len(TABLE_RADII) + ("---:|" if distance is not None else ""))
    figures = {}
    for run in runs:
        acr = run.correct_radius(labels).mean()
        ca = run.certified_accuracy(labels)
        se = np.sqrt(ca * (1 - ca) / m)
        cells = " | ".join(f"{value:.3f} ± {error:.3f}" for value, error in zip(ca, se))
        if distance is not None:
            certified = run.predict >= 0
            wrong = certified & ((run.predict != labels) | (run.radius > np.abs(distance)))
            cells += f" | {int(wrong.sum())}"
        print(f"| {run.name} | {run.n_used.mean():,.0f} | {run.n_used.mean() / n:.3f} | {acr:.4f} | "
              f"{acr / fixed_acr if fixed_acr > 0 else float('nan'):.4f} | {run.seconds:,.0f} | {cells} |")
        fixed_se = np.sqrt(fixed_ca * (1 - fixed_ca) / m)
        figures[run.name] = {"passes": run.n_used.mean() / n, "acr_ratio": acr / fixed_acr if fixed_acr else np.nan,
                             "ca_gap_in_se": np.max(np.abs(ca - fixed_ca) / np.maximum(fixed_se, 1 / m))}
    print_radius_loss(fixed, runs[1], n)
    return figures


def print_radius_loss(fixed: Run, radius_mode: Run, n: int) -> None:
    """Quantiles of ``fixed-N radius - sequential radius`` over the examples with a positive fixed-N radius."""
    positive = fixed.radius > 0
    loss = (fixed.radius - radius_mode.radius)[positive]
    relative = loss / fixed.radius[positive]
    to_cap = (radius_mode.n_used == n)[positive]
    quantiles = ", ".join(f"{q:.0%}" for q in LOSS_QUANTILES)
    print(f"\nRadius loss of '{radius_mode.name}' against fixed-N, fixed-N radius - sequential radius over the "
          f"{int(positive.sum())} examples with a fixed-N radius > 0 (quantiles {quantiles}; negative: a gain):")
    print(f"- absolute: {', '.join(f'{v:.4f}' for v in np.quantile(loss, LOSS_QUANTILES))}; mean {loss.mean():.4f}")
    print(f"- relative: {', '.join(f'{v:.2%}' for v in np.quantile(relative, LOSS_QUANTILES))}; mean {relative.mean():.2%}")
    if to_cap.any():
        print(f"- {to_cap.mean():.1%} of them ran to the cap, mean relative loss {relative[to_cap].mean():.2%} "
              f"(the alpha split); the others {relative[~to_cap].mean() if (~to_cap).any() else 0:.2%}")
    print(f"- certified (radius >= 0) by fixed-N only: {int(np.sum((fixed.predict >= 0) & (radius_mode.predict < 0)))}, "
          f"by sequential only: {int(np.sum((fixed.predict < 0) & (radius_mode.predict >= 0)))}")


def analytic_workload(n_examples: int) -> tuple[LinearBinary, torch.Tensor, np.ndarray, np.ndarray, float]:
    """A linear classifier on 8x8 inputs, sigma 0.5, inputs at distances sigma * z for z evenly spaced in
    [-1, 4] (pA = Phi(|z|) from 0.5 to 0.99997); the label is the side of the boundary."""
    sigma = 0.5
    model = LinearBinary(torch.randn(1, 8, 8, generator=torch.Generator().manual_seed(0)), bias=0.1)
    distance = sigma * np.linspace(-1.0, 4.0, n_examples)
    return model, model.at_distance(distance), (distance > 0).astype(int), distance, sigma


def print_summary(rows: list[tuple[str, dict]], names: list[str]) -> None:
    radius_name, decision_name = names[1], names[-1]
    print("\n### Targets\n")
    print("| workload | radius mode: passes (<= 0.333) | radius mode: ACR / fixed-N (>= 0.98) | "
          "decision mode: passes (<= 0.100) | decision mode: max abs(cert. acc. - fixed-N) / SE (<= 1) |")
    print("|---|---:|---:|---:|---:|")
    for title, figures in rows:
        radius, decision = figures[radius_name], figures[decision_name]

        def mark(ok: bool) -> str:
            return "" if ok else " (missed)"

        print(f"| {title} | {radius['passes']:.3f}{mark(radius['passes'] <= 1 / 3)} | "
              f"{radius['acr_ratio']:.4f}{mark(radius['acr_ratio'] >= 0.98)} | "
              f"{decision['passes']:.3f}{mark(decision['passes'] <= 0.1)} | "
              f"{decision['ca_gap_in_se']:.2f}{mark(decision['ca_gap_in_se'] <= 1)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models-dir", default="results/demo/models", help="holds <model>/checkpoint.pt")
    parser.add_argument("--models", nargs="*", default=list(DEMO_MODELS))
    parser.add_argument("--levels", nargs="*", type=int, default=None,
                        help="noise level of each model (sigma = sqrt(level) * 0.25); default: the training level")
    parser.add_argument("--n", type=int, default=100_000, help="fixed-N samples, the cap of the sequential procedure")
    parser.add_argument("--n0", type=int, default=100)
    parser.add_argument("--alpha", type=float, default=0.001)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=None, help="the first k test digits (default: all 500)")
    parser.add_argument("--analytic-examples", type=int, default=500, help="0 skips the analytic classifier")
    parser.add_argument("--extra-tolerances", nargs="*", type=float, default=[],
                        help="further relative tolerances of radius mode, beside the default")
    parser.add_argument("--batch-size", type=int, default=4000)
    parser.add_argument("--chunk", type=int, default=100, help="examples per certify call (progress granularity)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    levels = args.levels or [DEMO_MODELS.get(model, 1) for model in args.models]
    if len(levels) != len(args.models):
        parser.error("give one --levels entry per --models entry")
    named = procedures(args)
    schedule = SequentialRule.from_settings(SequentialSettings(), args.n, args.alpha).schedule
    cap_ratio = norm.ppf(schedule.alphas[-1] ** (1 / args.n)) / norm.ppf(args.alpha ** (1 / args.n))
    print(f"N = {args.n}, N0 = {args.n0}, alpha = {args.alpha}, seed {args.seed}, {device}, "
          f"{torch.get_num_threads()} torch threads, batch {args.batch_size}\n")
    print(f"Default schedule: {len(schedule.ends)} rounds ending at {', '.join(map(str, schedule.ends))}; "
          f"alpha_k = {schedule.alphas[0]:.3g} before the cap, {schedule.alphas[-1]:.3g} at the cap. Cost of the split "
          f"with every sample in class A: radius cap {norm.ppf(schedule.alphas[-1] ** (1 / args.n)):.4f} sigma against "
          f"fixed-N's {norm.ppf(args.alpha ** (1 / args.n)):.4f} sigma ({cap_ratio - 1:+.2%}).\n")
    print("Forward passes are estimation samples per example; every procedure also spends the same N0 selection "
          "passes. Decision mode reports table radii, so its ACR is floored to the grid; compare its certified "
          "accuracy. Certified accuracies are given ± their binomial standard error sqrt(p (1 - p) / examples).")
    summary = []
    digits = None
    for model_name, level in zip(args.models, levels):
        checkpoint = Path(args.models_dir) / model_name / "checkpoint.pt"
        if not checkpoint.exists():
            print(f"\n(no {checkpoint}: skipped; run the demo workflow first)")
            continue
        if digits is None:
            x, labels, _ = test_tensors(DIGITS)
            digits = (x[:args.examples], labels.numpy()[:args.examples])
        x, labels = digits
        sigma = level_sigma(level, 0.25)
        smoother = Smoother(load_model(checkpoint, device), 10, args.batch_size, device)
        runs = [certify_all(model_name, name, procedure, smoother, x, sigma, args) for name, procedure in named]
        title = f"{model_name} at level {level} (sigma {sigma:.3f}), {len(labels)} test digits"
        summary.append((title, print_model_table(title, runs, labels, args.n)))
    if args.analytic_examples:
        model, x, labels, distance, sigma = analytic_workload(args.analytic_examples)
        smoother = Smoother(model, 2, args.batch_size, device)
        runs = [certify_all("analytic", name, procedure, smoother, x, sigma, args) for name, procedure in named]
        title = f"analytic linear classifier (sigma {sigma}), {len(labels)} inputs at known distances"
        summary.append((title, print_model_table(title, runs, labels, args.n, distance)))
    if summary:
        print_summary(summary, [name for name, _ in named])


if __name__ == "__main__":
    main()
