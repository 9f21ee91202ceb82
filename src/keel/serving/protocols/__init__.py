"""Request protocols of the model server: each decodes a body into a checked
``keel.serving.table.Table`` and encodes a model's answer back.

- ``keel``: Keel's ``/predict`` (JSON records or columns, Arrow IPC, CSV).
- ``mlflow``: MLflow's scoring protocol, ``/invocations``.
- ``v2``: the Open Inference Protocol (KServe V2), ``/v2/models/{name}/infer``.
"""
