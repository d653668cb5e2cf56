"""Throughput benchmark: certification against the bare model's forward pass, the batched engine
against a one-example-at-a-time loop, FGSS against the grid, fp32 against bf16 (the device-hours of a whole
config come from ``snakemake cost``).

    python bench/throughput.py                 # CPU, prints Markdown tables
    python bench/throughput.py --device cuda --archs cifar_resnet110 --batch-size 1000

All ratios are measured in one run on the same batch size. Bare forward and certification are timed
in alternating rounds and the medians reported, so a change of machine load hits both sides.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from insta_rs.certification.noise import ESTIMATION
from insta_rs.certification.smoothing import Smoother
from insta_rs.data.datasets import test_tensors
from insta_rs.models.architectures import build_model
from insta_rs.models.checkpoints import load_model
from insta_rs.runtime.device import autocast_dtype, resolve_device, tune_for_throughput
from insta_rs.search import algorithms as search

SHAPES = {"digits_cnn": (1, 8, 8), "cifar_resnet20": (3, 32, 32), "cifar_resnet110": (3, 32, 32),
          "resnet50": (3, 224, 224)}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bare_throughput(model: torch.nn.Module, shape: tuple, batch_size: int, device: torch.device,
                    dtype: torch.dtype | None, repeats: int) -> float:
    """Samples per second of ``model`` on a fixed batch (no noise, no counting)."""
    batch = torch.rand((batch_size, *shape), device=device).contiguous(memory_format=torch.channels_last)
    with torch.no_grad(), torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
        model(batch)
        sync(device)
        start = time.perf_counter()
        for _ in range(repeats):
            model(batch).argmax(1)
        sync(device)
    return repeats * batch_size / (time.perf_counter() - start)


def certify_throughput(smoother: Smoother, shape: tuple, n_samples: int, n_examples: int) -> float:
    """Noisy samples per second of the batched engine (counts of n_samples for n_examples)."""
    x = torch.rand((n_examples, *shape))
    sigma, idx = np.full(n_examples, 0.5), np.arange(n_examples)
    smoother.sample_counts(x[:1], sigma[:1], idx[:1], smoother.batch_size, 0, ESTIMATION)  # warm-up
    sync(smoother.device)
    start = time.perf_counter()
    smoother.sample_counts(x, sigma, idx, n_samples, 0, ESTIMATION)
    sync(smoother.device)
    return n_examples * n_samples / (time.perf_counter() - start)


def alternating_rounds(measures: list[Callable[[], float]], rounds: int) -> np.ndarray:
    """``[rounds, len(measures)]`` throughputs, the measures taken one after another in every round."""
    return np.array([[measure() for measure in measures] for _ in range(rounds)])


def one_at_a_time_throughput(model: torch.nn.Module, shape: tuple, n_samples: int, n_examples: int,
                             device: torch.device, batch_size: int = 400) -> float:
    """The published reference pattern: each example alone, batches of 400 copies, counts on the host."""
    x = torch.rand((n_examples, *shape), device=device)
    start = time.perf_counter()
    with torch.no_grad():
        for row in range(n_examples):
            counts = np.zeros(1000, dtype=int)
            remaining = n_samples
            while remaining:
                size = min(batch_size, remaining)
                copies = x[row:row + 1].repeat(size, 1, 1, 1)
                predictions = model(copies + torch.randn_like(copies) * 0.5).argmax(1)
                counts += np.bincount(predictions.cpu().numpy(), minlength=1000)
                remaining -= size
    sync(device)
    return n_examples * n_samples / (time.perf_counter() - start)


def fgss_vs_grid(model: torch.nn.Module, x: torch.Tensor, device: torch.device, m: int,
                 common_noise: bool) -> tuple[float, float]:
    """Forward passes of FGSS relative to the grid's (16 levels) on the same inputs, and FGSS's ASS."""
    smoother = Smoother(model, 10, 4000, device)
    estimate = search.RadiusEstimate(m, 0.999, 0, common_noise)
    criterion = search.instance_criterion(smoother, x, np.arange(len(x)), 0.25, 16, estimate)
    ass = search.fgss(criterion, len(x), 16).n_levels_evaluated.mean()
    return ass / 16, ass


def precision_agreement(model: torch.nn.Module, x: torch.Tensor, device: torch.device, n_samples: int,
                        batch_size: int) -> tuple[float, float, float, float]:
    """Under bf16 against fp32 (same noise), at sigma = 0.5: the fraction of inputs whose certified prediction
    changes, the fraction whose radius moves by more than 1e-3, the mean and the largest |radius change|."""
    sigma, idx = np.full(len(x), 0.5), np.arange(len(x))
    fp32 = Smoother(model, 10, batch_size, device).certify(x, sigma, idx, 100, n_samples, 0.001, 0)
    bf16 = Smoother(model, 10, batch_size, device, torch.bfloat16).certify(x, sigma, idx, 100, n_samples, 0.001, 0)
    moved = np.abs(fp32.radius - bf16.radius)
    return (float(np.mean(fp32.predict != bf16.predict)), float(np.mean(moved > 1e-3)), float(moved.mean()),
            float(moved.max()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--archs", nargs="+", default=["digits_cnn", "cifar_resnet20"])
    parser.add_argument("--batch-size", type=int, default=None, help="default: 4000 digits, 400 CIFAR on CPU")
    parser.add_argument("--samples", type=int, default=None, help="noisy samples per example")
    parser.add_argument("--examples", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5, help="alternating bare/certification rounds (medians)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--check-bf16", action="store_true", help="measure how often bf16 changes a certificate")
    parser.add_argument("--checkpoint", default="results/demo/models/insta-s3/checkpoint.pt",
                        help="a trained digits model for the FGSS-against-grid comparison and --check-bf16")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    dtype = autocast_dtype(args.precision)
    torch.manual_seed(0)
    print(f"device: {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else f'{torch.get_num_threads()} threads'}), precision {args.precision}\n")
    print(f"medians of {args.rounds} alternating rounds; ratios are medians of the per-round ratios\n")
    print("| model | batch | bare forward (samples/s) | certification (samples/s) | ratio | one-at-a-time, batch 400 (samples/s) | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for arch in args.archs:
        shape = SHAPES[arch]
        model = tune_for_throughput(build_model(arch, 10, {"kind": "none"}).eval().to(device), device)
        small_input = arch == "digits_cnn"
        batch = args.batch_size or (4000 if small_input or device.type == "cuda" else 400)
        samples = args.samples or (20 * batch if small_input or device.type == "cuda" else 4 * batch)
        smoother = Smoother(model, 10, batch, device, dtype)
        measures = [lambda: bare_throughput(model, shape, batch, device, dtype, max(3, samples * args.examples // batch // 2)),
                    lambda: certify_throughput(smoother, shape, samples, args.examples)]
        if not args.skip_reference:
            measures.append(lambda: one_at_a_time_throughput(model, shape, samples, args.examples, device))
        rounds = alternating_rounds(measures, args.rounds)
        bare, certify = np.median(rounds[:, 0]), np.median(rounds[:, 1])
        ratio = np.median(rounds[:, 1] / rounds[:, 0])
        reference = "| | |" if args.skip_reference else (
            f"| {np.median(rounds[:, 2]):,.0f} | {np.median(rounds[:, 1] / rounds[:, 2]):.2f}x |")
        print(f"| {arch} | {batch} | {bare:,.0f} | {certify:,.0f} | {ratio:.3f} {reference}")
    trained = Path(args.checkpoint).exists()
    if trained:
        model = load_model(args.checkpoint, device)
        digits = test_tensors({"name": "digits", "num_classes": 10, "test_subset": {"all": True, "limit": 100}})[0]
        print(f"\n| search on {args.checkpoint} (100 digits, m = 100) | ASS | FGSS / grid forward passes |")
        print("|---|---|---|")
        for common_noise in (True, False):
            ratio, ass = fgss_vs_grid(model, digits, device, 100, common_noise)
            print(f"| {'common' if common_noise else 'independent'} noise across levels | {ass:.2f} | {ratio:.3f} |")
    else:
        print(f"\n(no {args.checkpoint}: run the demo workflow first for the FGSS-against-grid comparison)")
    if args.check_bf16:  # the trained demo model on 100 test digits, else random weights on random inputs
        if trained:
            what, inputs = f"{args.checkpoint}, 100 test digits", digits
        else:
            arch = args.archs[-1]
            what, inputs = f"{arch} (random weights), 100 random inputs", torch.rand((100, *SHAPES[arch]))
            model = build_model(arch, 10, {"kind": "none"}).eval().to(device)
        changed, moved, radius_change, largest = precision_agreement(model, inputs, device, 2000, 1000)
        print(f"\nbf16 against fp32 on {what}, N = 2000, sigma = 0.5: certified prediction changed for "
              f"{changed:.1%}, radius moved by more than 1e-3 for {moved:.1%}, mean |radius change| {radius_change:.4f}"
              f", largest {largest:.4f}")
    print("\n(the device-hours of a config's every rule and table at this machine's speed: "
          "snakemake cost --configfile <config>)")


if __name__ == "__main__":
    main()
