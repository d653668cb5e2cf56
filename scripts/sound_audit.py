"""Empirical audit: for each configured model and mode, search inputs within the claimed radii of certified
test examples and count how often the deployed classifier (Insta-RS: FGSS at the queried input, then
PREDICT) answers another class. Writes the summary table (TSV, Markdown) and the per-example details."""

import numpy as np
import pandas as pd

from insta_rs.certification.records import read_certification
from insta_rs.collapse import guarded_levels
from insta_rs.files import atomic_write, atomic_write_text
from insta_rs.layout import Layout
from insta_rs.levels import sigma_levels
from insta_rs.report.render import precision_note
from insta_rs.sound import audit
from insta_rs.sound.deployed import AuditJob, deployed_classifier
from insta_rs.workflow.integrity import run_step
from insta_rs.workflow.job import job_dataset, job_device
from insta_rs.workflow.steps import examples, make_smoother


def main(snakemake, logger) -> None:
    params = snakemake.params
    cfg, noise = params.audit, params.noise
    settings = audit.AuditSettings(n_examples=cfg["n_examples"], n_neighbors=cfg["n_neighbors"],
                                   n_line=cfg["n_line"], steps=cfg["steps"], seed=cfg["seed"])
    dataset = job_dataset(snakemake)
    x, labels, idx = examples(dataset, "test")
    position = {int(i): p for p, i in enumerate(idx)}
    certifications, layout = iter(snakemake.input.certifications), Layout.of_run(snakemake.config)
    summary, details = [], []
    for model, checkpoint in zip(cfg["models"], snakemake.input.models):
        smoother = make_smoother(checkpoint, snakemake.config["certify"]["batch_size"],
                                 job_device(snakemake), params.precision)

        def smoother_of(path, like=smoother):
            return make_smoother(path, like.batch_size, like.device, params.precision)

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
            job = AuditJob(smoother, smoother_of, params, dataset, layout, model, mode,
                           guarded_levels(layout.collapse_guard(model)), cfg["seed"] + 1)
            per_example = audit.audit_frame(x, labels, certification, positions, deployed_classifier(job),
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
