"""Result tables: rows and their kinds (:mod:`.rows`), the paper's numbers (:mod:`.paper`), the configured
tables (:mod:`.build`), Appendix B.3 (:mod:`.b3`), the training-speed table (:mod:`.speed`) and the three
renderings (:mod:`.render`). Result paths come from :mod:`insta_rs.layout`."""
