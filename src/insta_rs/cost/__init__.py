"""The bill before a run (``snakemake cost``).

- :mod:`.passes`: the forward passes of every job and table a config plans; :mod:`.split_sizes`: the data set's
  split sizes and input shape, read without loading the data;
- :mod:`.calibrate`: the throughput of each architecture on this machine, with random weights;
- :mod:`.bill`: ``cost.md``, with the reference timings and sequential pass ratios of ``reference.yaml``.

Top layer: may import any other folder.
"""
