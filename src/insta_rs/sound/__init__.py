"""Sound certificates beside the paper's per-instance radius, and the tools that test them.

- :mod:`.cascade`      cascade over the noise levels (multi-scale smoothing, Jeong & Shin 2023)
- :mod:`.knn_sigma`    an input-dependent sigma whose logarithm is r-Lipschitz (kNN distance to training data)
- :mod:`.semi_elastic` the certified radius for such a sigma (Sukenik et al., ICML 2022)
- :mod:`.dual`         Dual RS: a certified sigma selector, radius min(R_sel, R_cls) (Sun, Mao, Vechev, ICLR 2026)
- :mod:`.dual_selector` Dual RS's selector: its labels on the training split and its training
- :mod:`.falsify`      an exact counterexample to the Insta-RS radius as a certificate of the deployed classifier
- :mod:`.audit`        an empirical search for violations of a certification file's claims on a trained model
- :mod:`.modes`        the registry of sound and audited modes: what each reads and depends on, its module
- :mod:`.deployed`     what the classifier a user of an audited mode queries is built from; Insta-RS's and
                       the fixed levels' (each sound mode's module holds its certificate and its own)

``docs/what-the-numbers-mean.md`` says which number certifies what.

Imports :mod:`insta_rs.certification`, :mod:`insta_rs.search`, :mod:`insta_rs.training` (Dual RS's selector),
:mod:`insta_rs.analysis`, :mod:`insta_rs.collapse`, :mod:`insta_rs.data` and the layers below.
"""
