"""Training of base classifiers for randomized smoothing, each example noised with its own sigma.

- :mod:`~insta_rs.training.methods`, :mod:`~insta_rs.training.two_stage`: the registries of parameter-update
  methods and of two-stage methods;
- :mod:`~insta_rs.training.gaussian`, :mod:`~insta_rs.training.smoothadv`, :mod:`~insta_rs.training.macer`:
  the parameter-update methods (Cohen et al., Salman et al., Zhai et al.);
- :mod:`~insta_rs.training.sigma_update`: Algorithm 2 stage I, the per-example level update;
- :mod:`~insta_rs.training.pfat`: the PFAT baseline's random levels and grid assignment;
- :mod:`~insta_rs.training.loop`: the resumable loop that runs every stage; :mod:`~insta_rs.training.stage_run`:
  a stage's outputs, execution and training job; :mod:`~insta_rs.training.stages`: one function per workflow step;
- :mod:`~insta_rs.training.config`, :mod:`~insta_rs.training.example_levels`: settings and level bookkeeping.

Kept free of imports, so that the torch-free registry can be read without loading torch.

Imports :mod:`insta_rs.certification`, :mod:`insta_rs.data`, :mod:`insta_rs.models`, :mod:`insta_rs.collapse` and
the layers below.
"""
