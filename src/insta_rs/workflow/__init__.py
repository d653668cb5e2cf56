"""What the Snakemake workflow plans, checks and runs.

- :mod:`.config_check`, :mod:`.config_relations`: the config's schema, registries and relations, checked before
  any job;
- :mod:`.plan`: what a run makes and what each target reads (the rules' input functions);
- :mod:`.protocols`: every rule's params and every result's protocol, from the config alone;
- :mod:`.sharding`: the sharded steps (each job one shard of the test subset, one merge job per result), from which
  the rule files make the certification and merge rules;
- :mod:`.seal`, :mod:`.integrity`, :mod:`.launch`: results sealed where written, checked where read and at the start
  of a run;
- :mod:`.code_deps`: the package modules a step script imports (the rules' code inputs);
- :mod:`.job`, :mod:`.steps`: what a job computes and how; the data, models and smoothers a step script uses.

Top layer: may import any other folder except :mod:`insta_rs.cost`.
"""
