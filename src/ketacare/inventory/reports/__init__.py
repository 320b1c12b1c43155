"""The controlled-substance records a DEA inspector asks for (clinical-reference §6), read from
the ledger: the dispensing log with its witnessed waste (``dispensing``), receipts
(``receipts``), stock on hand (``balances``), physical counts (``counts``), and the daily
reconciliation of each dispense with its dose and waste (``reconciliation``); ``scope`` is
the date range and registrations a report covers, ``entries`` how an entry reads in every
report, ``columns`` the CSV columns of each report.

Each report function takes the registrations to report on and returns plain dataclasses, so
the screen, the printable page and the CSV render the same rows, and tests need no HTTP.
Every function runs a fixed number of queries, however many entries it returns.
"""
