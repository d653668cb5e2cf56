"""insta-rs: instance-wise randomized smoothing (Insta-RS), reproduced and audited.

Modules hold one concept each: ``stats`` (Clopper-Pearson, radii), ``noise`` (levels and
per-example seeded noise), ``smoothing`` (Cohen et al. CERTIFY/PREDICT, batched), ``search``
(Algorithms 1 and 3), ``io`` (atomic, resumable TSV output), and the data, model, training,
analysis and sound-certificate modules beside them.
"""

__version__ = "0.1.0"
