"""Serving: the model server (``keel serve``), its request protocols (Keel's JSON, Arrow
and CSV; MLflow's ``/invocations``; the Open Inference Protocol, KServe V2), adaptive
micro-batching, traffic between a deployment's versions, and batch scoring
(``keel predict``, locally or on Ray).
"""
