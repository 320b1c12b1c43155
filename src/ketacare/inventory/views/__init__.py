"""The controlled-substance ledger's pages, one module per topic: ``stock`` (what is held, the
ledger), ``movements`` (stock in and out), ``reversals``, ``counts`` (and discrepancies),
``setup``, and the DEA reports (``report_pages``, with ``report_formats`` rendering each one
on screen, for print and as CSV). ``shared`` holds what they have in common; read-only
queries are in ``inventory.queries`` and ``inventory.reports``, writes in ``inventory.actions``."""
