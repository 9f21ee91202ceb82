"""Putting patched training functions in place, and taking them out again exactly.

A patched function logs only a call the user makes: not one made while another patched
call is running (the steps a ``Pipeline`` or a search fits: one run for the whole), nor
one that the libraries make themselves (the clones ``cross_val_score`` fits, the label
encoders inside ``sklearn.metrics``). Whatever is not logged runs the original untouched.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
from collections.abc import Callable
from types import CodeType, FrameType
from typing import Any

from keel.autologging.options import LIBRARIES, AutologOptions

logger = logging.getLogger("keel.autologging")

MARK = "__keel_autolog__"

Handler = Callable[[Callable[..., Any], tuple[Any, ...], dict[str, Any], AutologOptions], Any]
"""Runs a user's call with logging: ``handler(original, args, kwargs, options)``."""

_lock = threading.Lock()
_local = threading.local()
_originals: dict[tuple[object, str], tuple[str, Any]] = {}
"""Each patched (class or module, attribute): its library and what was there before."""
_options: dict[str, AutologOptions] = {}
"""The options of each library that autolog is on for."""


def options_of(library: str) -> AutologOptions | None:
    return _options.get(library)


def enable(
    library: str, options: AutologOptions, targets: list[tuple[object, str, Handler]]
) -> None:
    """Turn ``library`` on with ``options`` (again: only the options change)."""
    with _lock:
        _options[library] = options
        for owner, name, handler in targets:
            raw = vars(owner).get(name)
            if (owner, name) in _originals or raw is None or getattr(raw, MARK, False):
                continue
            _originals[(owner, name)] = (library, raw)
            setattr(owner, name, _patch(raw, library, handler, method=isinstance(owner, type)))


def disable(libraries: tuple[str, ...] = LIBRARIES) -> None:
    """Put back, exactly, everything patched for ``libraries``."""
    with _lock:
        for key, (library, original) in list(_originals.items()):
            if library in libraries:
                owner, name = key
                setattr(owner, name, original)
                del _originals[key]
        for library in libraries:
            _options.pop(library, None)


def _patch(original: Any, library: str, handler: Handler, *, method: bool) -> Any:
    function = original.__func__ if isinstance(original, classmethod | staticmethod) else original

    @functools.wraps(function)
    def patched(*args: Any, **kwargs: Any) -> Any:
        depth = getattr(_local, "depth", 0)
        options = _options.get(library)
        if options is None or depth > 0:
            return function(*args, **kwargs)
        model = args[0] if method and args else None
        if not _called_by_user(model, sys._getframe(1)):
            return function(*args, **kwargs)
        _local.depth = depth + 1
        try:
            return handler(function, args, kwargs, options)
        finally:
            _local.depth = depth

    setattr(patched, MARK, True)
    return patched


def _called_by_user(model: Any, frame: FrameType | None) -> bool:
    """Whether this call was made by the user's code, and not by a patched library's.

    From the caller outwards, the model's own methods (``fit_predict`` calling ``fit``)
    are passed over; the first other frame decides: a library's means the library trains
    the model for its own purposes (a label encoder in a metric, a clone in
    cross-validation)."""
    try:
        return _walk_to_caller(model, frame)
    except Exception:  # never break a fit: log it, as before this check
        logger.debug("keel.autolog: could not inspect the caller", exc_info=True)
        return True


def _walk_to_caller(model: Any, frame: FrameType | None) -> bool:
    codes: set[CodeType] | None = None
    while frame is not None:
        module = frame.f_globals.get("__name__")
        if not isinstance(module, str) or module.split(".")[0] not in LIBRARIES:
            return True
        if model is None:
            return False  # a library function called by the library itself
        if codes is None:
            codes = _method_codes(type(model))
        if not (frame.f_code in codes and _first_argument(frame) is model):
            return False
        frame = frame.f_back
    return True


def _method_codes(cls: type) -> set[CodeType]:
    """The code of every function among ``cls``'s attributes and the functions they wrap."""
    codes: set[CodeType] = set()
    for klass in cls.__mro__:
        for value in vars(klass).values():
            seen = 0
            while value is not None and seen < 10:  # a bounded walk down __wrapped__
                function = getattr(value, "__func__", value)
                code = getattr(function, "__code__", None)
                if isinstance(code, CodeType):
                    codes.add(code)
                value = getattr(value, "__wrapped__", None)
                seen += 1
    return codes


def _first_argument(frame: FrameType) -> Any:
    code = frame.f_code
    if code.co_argcount == 0:
        return None
    return frame.f_locals.get(code.co_varnames[0])
