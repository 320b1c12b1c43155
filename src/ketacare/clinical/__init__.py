"""Clinical knowledge as pure Python: no Django imports. Every number comes from a data file
with its ``source:``."""
