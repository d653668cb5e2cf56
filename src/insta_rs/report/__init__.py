"""Tables and figures.

- :mod:`.rows`: the row grammar and the registry of row kinds; :mod:`.paper`: the paper's numbers
  (``paper_numbers.yaml``); :mod:`.build`: the configured tables; :mod:`.b3`, :mod:`.speed`,
  :mod:`.collapse_tables`: Appendix B.3, training speed, class collapse; :mod:`.render`: Markdown, LaTeX, TSV;
- :mod:`.table_kinds`: the registry of table kinds; :mod:`.figures`: the figures and the registry of figure kinds.

Imports :mod:`insta_rs.analysis`, :mod:`insta_rs.collapse`, :mod:`insta_rs.sound` (mode names) and the layers below.
"""
