"""The version of Keel: one string, read by the package, its model manifests and its server."""

__version__ = "0.1.0"
