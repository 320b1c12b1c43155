"""The versioned JSON API (``/api/v1/``), its personal access tokens and their page."""
