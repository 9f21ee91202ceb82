"""``keel server``: the REST API (FastAPI on uvicorn) over a tracking store."""
