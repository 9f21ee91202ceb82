"""The prediction log: every prediction a model server or a batch job makes, with its
inputs, outputs, model version, deployment, latency and time, written in the background
to Parquet files in the artifact store (partitioned by deployment and hour, never one
SQL row per prediction), and the feedback (labels) that arrives for them later.

Model servers and ``keel predict`` write it; ``keel predictions``, ``keel lineage`` and
monitoring read it.
"""
