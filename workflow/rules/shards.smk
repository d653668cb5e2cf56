"""Merges of a search's or certification's shards in test-subset order, whatever the shard count: each tracks its
jobs' params as one param, ``tracked``, checks the shards' seals and seals what it writes (integrity.merge_step)."""

from insta_rs.workflow.integrity import merge_step

# One merge rule per sharded step of insta_rs.workflow.sharding (merge_levels, merge_level, merge_validation,
# merge_assigned, merge_selector, merge_search).
for step in SHARDED.values():

    rule:
        """The results of a sharded step from its shards."""
        name:
            step.merge
        input:
            shards=merged_shards(step),
        output:
            tsv=step.results,
        wildcard_constraints:
            **step.wildcards,
        localrule: True
        log:
            step.merge_log,
        params:
            **PROTOCOLS.params(step.merge),
        run:
            merge_step(list(input.shards), list(output), log[0], PROTOCOLS, params.tracked, rule)
