"""Certification (Cohen et al. CERTIFY), sharded over ``certify.shards`` jobs, each resuming where an interrupted
run stopped (merged in shards.smk): the test subset at each level or at each example's searched sigma, the validation
split's levels, Dual RS's selector."""

# One rule per certification of insta_rs.workflow.sharding (certify_levels, certify_level, certify_validation,
# certify_assigned, certify_selector): its entry names what the jobs read and write; one script runs them all.
for certification in CERTIFICATIONS:

    rule:
        """Certify every example of a shard at each level, or at its own sigma from an assignment TSV."""
        name:
            certification.rule
        input:
            **certification.reads,
            code=package_code("certify.py"),
        output:
            tsv=temp(certification.shards),
        wildcard_constraints:
            **certification.wildcards,
        resources:
            gpu=GPUS,
        log:
            certification.log,
        benchmark:
            certification.benchmark
        conda:
            "../../envs/insta-rs.yaml"
        params:
            **PROTOCOLS.params(certification.rule),
        script:
            "../../scripts/certify.py"
