"""The version of Keel: one string, read by the package, its model manifests and its server."""

__version__ = "0.1.0"

DISTRIBUTION = "keel-mlops"
"""The name Keel is published under on PyPI (``pip install keel-mlops``; ``keel`` there is an
unrelated package). The import name and the command stay ``keel``."""
