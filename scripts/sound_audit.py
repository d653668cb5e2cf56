"""Empirical audit: for each configured model and mode, search inputs within the claimed radii of certified
test examples and count how often the deployed classifier (Insta-RS: FGSS at the queried input, then
PREDICT) answers another class. Writes the summary table (TSV, Markdown) and the per-example details."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

from insta_rs.certification.records import read_certification
from insta_rs.collapse import guarded_levels
from insta_rs.files import atomic_write, atomic_write_text
from insta_rs.levels import level_sigma, sigma_levels
from insta_rs.report.render import precision_note
from insta_rs.sound import audit, dual
from insta_rs.sound.knn_sigma import training_tensors
from insta_rs.sound.modes import level_of
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset, job_device
from insta_rs.workflow.steps import examples, make_smoother


def deployed_classifier(mode, smoother, params, dataset, knn_meta, selector, excluded, seed):
    """The classifier a user of ``mode`` queries (``excluded``: the levels the collapse guard leaves out)."""
    cfg, noise, certify = params.audit, params.noise, params.certify
    n, alpha = cfg["n_predict"], certify["alpha"]
    if mode == "insta_rs":
        return audit.insta_rs_predictor(smoother, noise["sigma0"], noise["n_levels"], params.search,
                                        params.search["p_max"], n, alpha, seed)
    if mode == "cascade":
        levels = [level for level in range(1, noise["n_levels"] + 1) if level not in excluded]
        return audit.cascade_predictor(smoother, sigma_levels(noise["sigma0"], noise["n_levels"])[np.array(levels) - 1],
                                       certify["n0"], n, alpha, params.cascade["p0"], seed)
    if mode == "semi_elastic":
        meta = json.loads(Path(knn_meta).read_text())
        train_x = training_tensors(dataset, params.semi_elastic["max_train"], meta["seed"])
        return audit.semi_elastic_predictor(smoother, train_x, meta, n, alpha, seed)
    if mode == "dual":
        alpha_sel = params.dual["alpha_share"] * alpha
        return audit.dual_predictor(smoother, make_smoother(selector, smoother.batch_size, smoother.device,
                                                            params.precision),
                                    dual.candidate_sigmas(params.dual["levels"], noise["sigma0"]),
                                    params.dual["selector"]["train"]["sigma"], n, alpha_sel, alpha - alpha_sel, seed,
                                    seed + 1_000_000)
    return audit.fixed_sigma_predictor(smoother, level_sigma(level_of(mode), noise["sigma0"]), n, alpha, seed)


def main(snakemake, logger) -> None:
    params = snakemake.params
    cfg, noise = params.audit, params.noise
    settings = audit.AuditSettings(n_examples=cfg["n_examples"], n_neighbors=cfg["n_neighbors"],
                                   n_line=cfg["n_line"], steps=cfg["steps"], seed=cfg["seed"])
    dataset = job_dataset(snakemake)
    x, labels, idx = examples(dataset, "test")
    position = {int(i): p for p, i in enumerate(idx)}
    certifications = iter(snakemake.input.certifications)
    knn_metas = dict(zip(cfg["models"], snakemake.input.knn))
    selectors = dict(zip(cfg["models"], snakemake.input.selectors))
    guards = dict(zip(cfg["models"], snakemake.input.guards))
    summary, details = [], []
    for model, checkpoint in zip(cfg["models"], snakemake.input.models):
        smoother = make_smoother(checkpoint, snakemake.config["certify"]["batch_size"],
                                 job_device(snakemake), params.precision)
        loss_fn = audit.criterion_margin_loss(smoother.model, sigma_levels(noise["sigma0"], noise["n_levels"]),
                                              cfg["n_noise"], cfg["seed"])
        for mode in cfg["modes"]:
            path = next(certifications)  # the rule lists them model by model, mode by mode
            certification = read_certification(path)
            unknown = [i for i in certification["idx"] if int(i) not in position]
            if unknown:
                raise ValueError(f"{path} certifies idx {unknown[:5]} outside the configured test subset; re-run it")
            positions = np.array([position[int(i)] for i in certification["idx"]])
            logger.info("auditing %s / %s", model, mode)
            per_example = audit.audit_frame(x, labels, certification, positions,
                                            deployed_classifier(mode, smoother, params, dataset,
                                                                knn_metas.get(model), selectors.get(model),
                                                                guarded_levels(guards[model]),
                                                                cfg["seed"] + 1),
                                            loss_fn, settings)
            n_certified = int(((certification["predict"] >= 0) & (certification["radius"] > 0)).sum())
            summary.append(audit.summarize(per_example, model, mode, n_certified))
            details.append(per_example.assign(model=model, mode=mode))
    table = pd.DataFrame(summary)
    with atomic_write(snakemake.output.tsv) as handle:
        table.to_csv(handle, sep="\t", index=False, float_format="%.4f")
    atomic_write_text(snakemake.output.md, f"{audit.markdown_table(summary)}\n{precision_note(params.precision)}\n")
    per_example = pd.concat(details, ignore_index=True) if details else pd.DataFrame()
    with atomic_write(snakemake.output.details) as handle:
        per_example.to_csv(handle, sep="\t", index=False, float_format="%.6f")


run_step(snakemake, main)  # noqa: F821
