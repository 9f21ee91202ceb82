"""Artifact bytes: one store over fsspec (``keel.artifacts.store``), content hashes
(``keel.artifacts.hashing``). Import what you need from its module: hashing a file should
not load the store."""
