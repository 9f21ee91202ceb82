"""The wire contract between ``keel server`` and its clients, one module per resource.

Each module holds a resource's pydantic schemas (they validate request bodies and write
the OpenAPI document; named by role: ``XCreate``/``XUpdate`` in, ``XPublic`` out) beside
its codec, the functions that turn entities into the JSON-ready dicts those schemas
describe and back. ``routes`` lists every route the REST clients call.

Responses are built by the codecs and serialised with orjson; a test checks each codec's
output against its ``XPublic`` schema. Non-finite floats travel as ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` (``numbers``).
"""
