"""Dual Randomized Smoothing on the digits demo's trained models, against the sound fixed-sigma baselines and the
alpha/K oracle envelope, on the same 500 test digits, N0, N and alpha as the other rows.

For each model: selector labels on the training split (the radius estimated with the label by
--label-criterion, over the 16 levels); a selector trained per (candidate levels, sigma_sel) of a small grid;
everything chosen on the VALIDATION split only (the selector's configuration and the alpha split by the certified ACR of Dual RS on validation; the fixed sigma
by the label-aware Eq. 5 estimate, and by the certified ACR on validation); then the test digits certified once.
Dual RS takes the classifier's certification at the selected level from the level files
(``certify/<model>/level<k>.tsv``, re-certified at alpha_cls: identical to certifying afresh at that sigma with
their seed), and certifies the selector afresh with its own seed.

    PYTHONPATH=src python bench/dual_demo.py [--results results/demo] [--models cohen-0.50 insta-s3] > out.md

Validation certifications use seeds ``certify.seed + 100`` (classifier) and ``selector_seed + 100`` (selector),
so no choice depends on noise that the test certificates reuse. Work files (labels, selectors, validation
certifications) go to ``--workdir`` and are reused when present. Progress goes to stderr, Markdown to stdout.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from insta_rs import analysis, collapse
from insta_rs.certification.records import read_certification
from insta_rs.certification.runner import CertifySettings, certify_to_tsv
from insta_rs.certification.smoothing import Smoother
from insta_rs.certification.stats import max_certifiable_p
from insta_rs.data.datasets import load_split
from insta_rs.levels import sigma_levels
from insta_rs.models.checkpoints import load_model
from insta_rs.search import algorithms as search
from insta_rs.sound import audit, dual, dual_selector
from insta_rs.training.config import parse_stage
from insta_rs.training.stage_run import StageOutput, TrainingJob
from insta_rs.workflow.steps import examples

ROOT = Path(__file__).resolve().parents[1]
logger = logging.getLogger("dual_demo")
VALIDATION_SEED_OFFSET = 100


class Split:
    """Inputs, labels and idx of one split (test: the configured test subset)."""

    def __init__(self, dataset_cfg: dict, name: str):
        self.x, self.labels, self.idx = examples(dataset_cfg, name)


def certified(smoother: Smoother, split: Split, sigma: float, path: Path, certify: dict, alpha: float,
              seed: int) -> pd.DataFrame:
    """``certify_to_tsv`` of the whole split at one sigma (reused when the file exists)."""
    if not path.exists():
        settings = CertifySettings(certify["n0"], certify["n"], alpha, seed, record_time=False)
        certify_to_tsv(smoother, split.x, split.labels, split.idx, np.full(len(split.idx), sigma), path, settings,
                       examples_per_chunk=200)
    return read_certification(path)


def metrics(frame: pd.DataFrame, radii: list[float]) -> tuple[float, np.ndarray]:
    return analysis.acr(frame), analysis.certified_accuracy(frame, radii)


def row(label: str, sigma: str, frame: pd.DataFrame, radii: list[float], num_classes: int, extra: str) -> str:
    """A table row; its notes end with the collapse flag of its certified predictions (insta_rs.collapse)."""
    acr, accuracy = metrics(frame, radii)
    flag = collapse.certified_concentration(frame, num_classes)
    notes = (f"{extra}; certified classes: N_eff {flag['effective_classes']:.1f}, top class {flag['top_class']} "
             f"{flag['top_share']:.0%}" + (" **concentrated on few classes**" if flag["concentrated"] else ""))
    return f"| {label} | {sigma} | " + " | ".join(f"{a:.3f}" for a in accuracy) + f" | {acr:.3f} | {notes} |"


def selector_stage(method: str, sigma_sel: float, args) -> object:
    """Cohen's schedule (x0.1 at 1/3 and 2/3 of the epochs); SmoothAdv with eps = 2 sigma_sel."""
    method = {"method": "smoothadv", "m_train": args.smoothadv_copies, "steps": args.smoothadv_steps, "warmup": 10} \
        if method == "smoothadv" else {"method": "gaussian"}
    return parse_stage({**method, "sigma": sigma_sel, "epochs": args.selector_epochs, "batch_size": 64,
                        "lr": args.selector_lr, "milestones": [args.selector_epochs // 3, 2 * args.selector_epochs // 3]},
                       "fixed", "bench.selector")


def audit_dual(model: str, classifier: Smoother, selector: Smoother, frame: pd.DataFrame, test: Split,
               levels, sigma0: float, sigma_sel: float, alpha_sel: float, alpha_cls: float, args) -> dict:
    """The empirical audit (insta_rs.sound.audit) of the Dual RS certification on the test digits."""
    settings = audit.AuditSettings(n_examples=args.audit_examples, seed=args.audit_seed)
    position = {int(i): p for p, i in enumerate(test.idx)}
    positions = np.array([position[int(i)] for i in frame["idx"]])
    loss_fn = audit.criterion_margin_loss(classifier.model, dual.candidate_sigmas(levels, sigma0), 16, args.audit_seed)
    deployed = dual.dual_predictor(classifier,
                                   dual.SmoothedSelector(selector, sigma_sel, alpha_sel, args.audit_seed + 1_000_001),
                                   dual.candidate_sigmas(levels, sigma0), args.audit_predict, alpha_cls,
                                   seed=args.audit_seed + 1)
    per_example = audit.audit_frame(test.x, test.labels, frame, positions, deployed, loss_fn, settings)
    n_certified = int(((frame["predict"] >= 0) & (frame["radius"] > 0)).sum())
    return audit.summarize(per_example, model, "dual", n_certified)


def run_model(model: str, args, cfg: dict, splits: dict[str, Split], out: list[str]) -> None:
    noise, certify = cfg["noise"], cfg["certify"]
    sigma0, n_levels, alpha = noise["sigma0"], noise["n_levels"], certify["alpha"]
    sigmas = sigma_levels(sigma0, n_levels)
    radii = [float(r) for r in cfg["analysis"]["radii"]]
    work = Path(args.workdir) / model
    results = Path(args.results)
    smoother = Smoother(load_model(results / "models" / model / "checkpoint.pt"), cfg["dataset"]["num_classes"],
                        certify["batch_size"])
    train, validation = splits["train"], splits["validation"]
    val_seed = certify["seed"] + VALIDATION_SEED_OFFSET

    # ---- the classifier at every level: test (the workflow's files) and validation (certified here)
    test_levels = {k: read_certification(results / "certify" / model / f"level{k}.tsv") for k in range(1, n_levels + 1)}
    val_levels = {k: certified(smoother, validation, float(sigmas[k - 1]), work / "validation" / f"level{k}.tsv",
                               certify, alpha, val_seed) for k in range(1, n_levels + 1)}

    # ---- fixed sigma chosen on validation: label-free Alg. 3 (the workflow's), label-aware Eq. 5, certified ACR
    label_free = analysis.chosen_level(pd.read_csv(results / "search" / model / "uniform_validation.tsv", sep="\t"))
    p_max = max_certifiable_p(alpha, certify["n"])
    criterion = search.labelled_uniform_criterion(smoother, validation.x, validation.labels, validation.idx, sigma0,
                                                  n_levels, search.RadiusEstimate(cfg["search"]["m"], p_max,
                                                                                  cfg["search"]["seed"]))
    labelled = int(search.fgss(criterion, 1, n_levels, [tuple(s) for s in cfg["search"]["starts"]]).level[0])
    val_acr = analysis.acr_by_level(val_levels)
    certified_choice = int(val_acr["level"].iloc[int(np.argmax(val_acr["acr"].to_numpy()))])

    # ---- selector labels on the training split, all levels (a candidate set takes its columns)
    labels_path = work / "labels.tsv"
    all_levels = list(range(1, n_levels + 1))
    if not labels_path.exists():
        started = time.perf_counter()
        estimate = search.RadiusEstimate(args.label_m, max_certifiable_p(alpha / 2, certify["n"]), args.label_seed)
        labels = dual_selector.label_training_split(smoother, cfg["dataset"], all_levels, sigma0, estimate,
                                                    args.label_criterion)
        dual_selector.write_labels(labels, labels_path)
        logger.info("%s: selector labels in %.1f s", model, time.perf_counter() - started)
    label_table = pd.read_csv(labels_path, sep="\t")
    label_radii = label_table[[f"cr_hat_l{k}" for k in all_levels]].to_numpy()

    # ---- the grid, scored by the certified ACR of Dual RS on validation
    grid_rows, scored = [], []
    for method, levels, sigma_sel in itertools.product(args.selector_method, args.candidates, args.sigma_sel):
        name = f"{method}_" + "-".join(map(str, levels)) + f"_s{sigma_sel:g}"
        selector_labels = dual_selector.hard_labels(label_radii[:, np.asarray(levels) - 1])
        path = work / "selectors" / f"{name}.pt"
        if not path.exists():
            started = time.perf_counter()
            job = TrainingJob("digits_cnn", {"kind": "none"}, "sound.dual.selector", torch.device("cpu"))
            dual_selector.train_selector(load_split(cfg["dataset"], "train"), selector_labels, levels, sigma0,
                                         selector_stage(method, sigma_sel, args), job, StageOutput(path),
                                         identity={"model": model})
            logger.info("%s: selector %s trained in %.1f s", model, name, time.perf_counter() - started)
        selector = Smoother(load_model(path), len(levels), certify["batch_size"])
        selector_val = certified(selector, validation, sigma_sel, work / "validation" / f"selector_{name}.tsv",
                                 certify, alpha, args.selector_seed + VALIDATION_SEED_OFFSET)
        for share in args.selector_share:
            alpha_sel, alpha_cls = share * alpha, (1 - share) * alpha
            selector_frame = analysis.recertified_frame(selector_val, alpha_sel)
            assignment = dual.selector_assignment(selector_frame, levels, sigma0)
            classifier = dual.classifier_from_levels(val_levels, assignment, alpha_cls)
            frame = dual.dual_frame(selector_frame, classifier, levels, sigma0)
            acr, accuracy = metrics(frame, radii)
            scored.append((acr, accuracy[1], accuracy[2], name, levels, sigma_sel, share))
            grid_rows.append(f"| {method} | {levels} | {sigma_sel:g} | {share:g} | {accuracy[0]:.3f} | {accuracy[1]:.3f} | "
                             f"{accuracy[2]:.3f} | {acr:.3f} | {dual.selector_binding_share(frame):.2f} | "
                             f"{np.mean(selector_labels == dual_selector.NO_LABEL):.2f} |")
    best = max(scored, key=lambda s: (round(s[0], 6), s[1], s[2]))
    _, _, _, name, levels, sigma_sel, share = best

    # ---- test: the chosen selector certified afresh with its own seed; the classifier from the level files
    alpha_sel, alpha_cls = share * alpha, (1 - share) * alpha
    selector = Smoother(load_model(work / "selectors" / f"{name}.pt"), len(levels), certify["batch_size"])
    selector_test = certified(selector, splits["test"], sigma_sel, work / "test" / f"selector_{name}_{share:g}.tsv",
                              certify, alpha_sel, args.selector_seed)
    assignment = dual.selector_assignment(selector_test, levels, sigma0)
    dual_test = dual.dual_frame(selector_test, dual.classifier_from_levels(test_levels, assignment, alpha_cls),
                                levels, sigma0)
    envelope = analysis.oracle_envelope(test_levels, alpha_correction=True)
    audited = audit_dual(model, smoother, selector, dual_test, splits["test"], levels, sigma0, sigma_sel, alpha_sel,
                         alpha_cls, args)

    # ---- report
    header = "| row | sigma | " + " | ".join(f"r={r:.2f}" for r in radii) + " | ACR | notes |"
    num_classes = cfg["dataset"]["num_classes"]
    out += [f"## {model}", "", header, "|---|---|" + "---:|" * (len(radii) + 1) + "---|",
            row("Dual RS (sound)", f"{name.split('_')[0]} selector over levels {list(levels)}, sigma_sel = "
                f"{sigma_sel:g}", dual_test, radii, num_classes,
                f"alpha_sel = {alpha_sel:g}, alpha_cls = {alpha_cls:g}; R_sel < R_cls on "
                f"{dual.selector_binding_share(dual_test):.0%} of certified digits"),
            row("fixed sigma, labelled validation, certified ACR (sound)", f"{sigmas[certified_choice - 1]:.3f} "
                f"(k={certified_choice})", test_levels[certified_choice], radii, num_classes,
                f"validation ACR {val_acr['acr'].iloc[certified_choice - 1]:.3f}"),
            row("fixed sigma, labelled validation, Eq. 5 with labels (sound)", f"{sigmas[labelled - 1]:.3f} "
                f"(k={labelled})", test_levels[labelled], radii, num_classes,
                "label-aware Alg. 3 (FGSS, m = search.m) on validation"),
            row("fixed sigma, label-free Alg. 3 on validation (sound)", f"{sigmas[label_free - 1]:.3f} "
                f"(k={label_free})", test_levels[label_free], radii, num_classes,
                "the workflow's search/<model>/uniform_validation.tsv"),
            row("oracle envelope, alpha/K (upper bound, not a certificate)", "per example (max)", envelope, radii,
                num_classes, f"K = {n_levels}, alpha/K = {alpha / n_levels:g}"), ""]
    fixed_best = max(analysis.acr(test_levels[k]) for k in (certified_choice, labelled))
    gap = analysis.acr(envelope) - fixed_best
    closed = (analysis.acr(dual_test) - fixed_best) / gap if gap > 0 else float("nan")
    out += [f"Audit of the Dual RS certificate (the deployed classifier of dual.dual_predictor, PREDICT with "
            f"{args.audit_predict} samples each): {audited['audited']} certified test digits, {audited['candidates']} "
            f"inputs within their radii, {audited['violated']} violated, {audited['confirmed']} confirmed "
            f"({audited['abstain']} abstentions).", "",
            f"Dual RS ACR - best validation fixed sigma ACR = {analysis.acr(dual_test) - fixed_best:+.3f}; "
            f"share of the gap to the envelope closed: {closed:.2f} (target >= 0.5).", "",
            f"Validation (200 digits) grid, certified Dual RS on validation (chosen: {name.split('_')[0]} selector, "
            f"levels {list(levels)}, "
            f"sigma_sel {sigma_sel:g}, selector alpha share {share:g}):", "",
            "| training | levels | sigma_sel | alpha share (selector) | r=0 | r=0.25 | r=0.5 | ACR | R_sel < R_cls "
            "| no label |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|", *grid_rows, "",
            "Validation certified ACR per level: " + ", ".join(f"k={k}: {a:.3f}" for k, a in
                                                              zip(val_acr["level"], val_acr["acr"])), ""]
    selector_levels = dual_selector.hard_labels(label_radii[:, np.asarray(levels) - 1])
    counts = collapse.class_level_counts(train.labels[selector_levels >= 0],
                                         np.asarray(levels)[selector_levels[selector_levels >= 0]], n_levels)
    out += ["Labels of the chosen selector by class (training split; rows: class, columns: level 1..16; "
            f"{np.mean(selector_levels == dual_selector.NO_LABEL):.0%} without a label):", "", "```",
            collapse.format_class_level_counts(counts), "```", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default="/work/baseline/results/demo")
    parser.add_argument("--config", default=str(ROOT / "config.yaml"))
    parser.add_argument("--models", nargs="+", default=["cohen-0.50", "insta-s3"])
    parser.add_argument("--workdir", default="/tmp/dual_demo")
    parser.add_argument("--candidates", type=lambda s: tuple(int(v) for v in s.split(",")), nargs="+",
                        default=[(1, 2), (1, 2, 4), (2, 4, 16), (1, 2, 4, 8, 16)])
    parser.add_argument("--sigma-sel", type=float, nargs="+", default=[0.25, 0.35, 0.5])
    parser.add_argument("--selector-share", type=float, nargs="+", default=[0.1, 0.25, 0.5],
                        help="alpha_sel / alpha (the rest goes to the classifier)")
    parser.add_argument("--selector-epochs", type=int, default=150)
    parser.add_argument("--selector-lr", type=float, default=0.1)
    parser.add_argument("--selector-method", choices=["gaussian", "smoothadv"], nargs="+",
                        default=["gaussian", "smoothadv"])
    parser.add_argument("--smoothadv-steps", type=int, default=5, help="PGD steps of a SmoothAdv selector")
    parser.add_argument("--smoothadv-copies", type=int, default=1, help="noisy copies (m_train) of a SmoothAdv selector")
    parser.add_argument("--label-m", type=int, default=100, help="noise vectors per example for the labels")
    parser.add_argument("--label-seed", type=int, default=2)
    parser.add_argument("--label-criterion", choices=dual_selector.LABEL_CRITERIA, default="soft")
    parser.add_argument("--selector-seed", type=int, default=1, help="the selector's certification seed")
    parser.add_argument("--audit-examples", type=int, default=10, help="certified test digits the audit searches")
    parser.add_argument("--audit-predict", type=int, default=1000, help="samples of each deployed PREDICT")
    parser.add_argument("--audit-seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    cfg = yaml.safe_load(Path(args.config).read_text())
    if args.selector_seed == cfg["certify"]["seed"]:
        parser.error("--selector-seed must differ from certify.seed: the selector needs its own noise")
    splits = {name: Split(cfg["dataset"], name) for name in ("train", "validation", "test")}
    out = [f"# Dual RS on the digits demo ({len(splits['test'].idx)} test digits, N0 = {cfg['certify']['n0']}, "
           f"N = {cfg['certify']['n']}, alpha = {cfg['certify']['alpha']})", "",
           f"`{' '.join(sys.argv)}`", "",
           f"Models from {args.results}. Selector: digits_cnn, {args.selector_epochs} epochs (lr {args.selector_lr}, "
           f"x0.1 at 1/3 and 2/3; SmoothAdv: eps = 2 sigma_sel, {args.smoothadv_steps} steps, "
           f"{args.smoothadv_copies} noisy copies), hard labels ({args.label_criterion}, m = {args.label_m}); grid (validation "
           f"only): training {args.selector_method} x levels {[list(c) for c in args.candidates]} x sigma_sel "
           f"{args.sigma_sel} x alpha_sel / alpha {args.selector_share}. Every row below is on the same test digits; "
           "the classifier of Dual RS is the level files' certification re-certified at alpha_cls, the selector is "
           f"certified with seed {args.selector_seed}.", ""]
    for model in args.models:
        run_model(model, args, cfg, splits, out)
    print("\n".join(out))


if __name__ == "__main__":
    main()
