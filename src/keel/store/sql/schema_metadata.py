"""The one ``MetaData`` every table of Keel's schema is defined on (``tables`` and
``production_tables``); migrations check the schema they build against it."""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()
