"""Backups a clinic can restore from: `ketacare backup` and `ketacare restore`.

``database`` copies the database out and back in (SQLite's online backup API, pg_dump and
pg_restore); ``manifest`` says what a backup holds and what it does not (the keys); ``create``
and ``restore`` put them together for the two commands.
"""
