"""insta-rs: instance-wise randomized smoothing (Insta-RS), reproduced, with sound certificates beside it.

Folders by concern, each importing only from those listed before it:

- :mod:`.runtime`, :mod:`.files`, :mod:`.levels`, :mod:`.layout`: devices and logs, atomic files, the noise levels
  ``sigma_l = sqrt(l) sigma0``, every result path. They import nothing else of the package.
- :mod:`.certification`: the engine (noise streams, Clopper-Pearson, CERTIFY/PREDICT, the sequential procedure, the
  resumable certification TSV).
- :mod:`.data`, :mod:`.models`: data sets and downloads; architectures and checkpoints.
- :mod:`.analysis`, :mod:`.collapse`: certified accuracy and the ACR definitions; class concentration and the
  collapse guard.
- :mod:`.search`: the noise-level searches (Algorithms 1 and 3, the grid) and their registry.
- :mod:`.training`: base-classifier training (Gaussian, SmoothAdv, MACER, Insta-RS Train, PFAT).
- :mod:`.sound`: the sound certificates (cascade, semi-elastic sigma, Dual RS), the falsification and the audit.
- :mod:`.report`: tables and figures.
- :mod:`.workflow`, :mod:`.cost`: what the Snakemake workflow plans, checks and runs; the bill before a run.
"""

__version__ = "0.1.0"
