"""The certification engine: Cohen et al.'s CERTIFY and PREDICT, batched, and the sequential procedure.

- :mod:`.noise`: per-example keyed noise streams, the same for every batch size and shard;
- :mod:`.stats`: Clopper-Pearson bounds and the radius ``sigma Phi^-1(pA_lower)``;
- :mod:`.sequential`: the rounds, alpha spending and stopping rules of the sequential procedure;
  :mod:`.sequential_settings`: its config keys and ``procedure`` label;
- :mod:`.procedures`: the registry of certification procedures (fixed-N or not, their bounds);
- :mod:`.smoothing`: the smoothed classifier (:class:`~.smoothing.Smoother`);
- :mod:`.runner`: resumable certification of many examples into a TSV; :mod:`.records`: that TSV's format.

Imports :mod:`insta_rs.runtime`, :mod:`insta_rs.files` and :mod:`insta_rs.levels` only.
"""
