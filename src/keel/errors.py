"""Keel's exceptions, one tree for every layer.

```
KeelError
├── InvalidArgument      bad input; names the field and the rule        (HTTP 400)
│   └── PayloadTooLarge  a batch or body over a documented limit        (HTTP 413)
├── NotFound             an experiment, run or artifact that is not there (HTTP 404)
├── AlreadyExists        a name that is taken                            (HTTP 409)
├── Conflict             a write that contradicts what is stored         (HTTP 409)
├── Unauthenticated      no credentials, or ones the server refuses      (HTTP 401)
├── Forbidden            not allowed for this caller                     (HTTP 403)
├── CorruptData          stored content no longer matches its hash       (HTTP 500)
├── StoreUnavailable     the store or server cannot be reached           (HTTP 503)
└── MissingExtra         an optional dependency is not installed; also an ImportError (HTTP 501)
```

The domain raises these; the server maps each to a status once (``server/errors.py``) and
the REST client maps the status back once (``store/rest``), so callers catch the same
types whichever store they use.
"""

from __future__ import annotations


class KeelError(Exception):
    """Base of every error Keel raises on purpose."""

    status_code: int = 500
    code: str = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(KeelError):
    status_code = 400
    code = "invalid_argument"


class PayloadTooLarge(InvalidArgument):
    status_code = 413
    code = "payload_too_large"


class NotFound(KeelError):
    status_code = 404
    code = "not_found"


class AlreadyExists(KeelError):
    status_code = 409
    code = "already_exists"


class Conflict(KeelError):
    status_code = 409
    code = "conflict"


class Unauthenticated(KeelError):
    """Who is calling is not known: no credentials, or ones the server does not accept
    (expired, revoked). ``Forbidden`` is for a caller who is known."""

    status_code = 401
    code = "unauthenticated"


class Forbidden(KeelError):
    status_code = 403
    code = "forbidden"


class CorruptData(KeelError):
    """Stored bytes no longer match the digest or the listing they were recorded
    with: a file changed, went missing or appeared. Not ``sqlalchemy.exc.IntegrityError``
    (a database constraint that failed)."""

    status_code = 500
    code = "integrity_error"  # as before the rename: clients map the code back


class StoreUnavailable(KeelError):
    status_code = 503
    code = "unavailable"


class MissingExtra(KeelError, ImportError):
    """A feature needs an optional dependency that is not installed. The message names
    the extra to install (``pip install 'keel-mlops[data]'``); raised by
    ``keel.extras.require``. An ``ImportError`` too, so code that already catches a missing
    import keeps working."""

    status_code = 501
    code = "missing_extra"

    def __init__(self, message: str, *, module: str | None = None) -> None:
        super().__init__(message)
        self.name = module  # ImportError's attribute: the module that could not be imported


ERRORS_BY_CODE: dict[str, type[KeelError]] = {
    cls.code: cls
    for cls in (
        KeelError,
        InvalidArgument,
        PayloadTooLarge,
        NotFound,
        AlreadyExists,
        Conflict,
        Unauthenticated,
        Forbidden,
        CorruptData,
        StoreUnavailable,
        MissingExtra,
    )
}
