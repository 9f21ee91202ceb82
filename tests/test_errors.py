"""Each Keel error has one status and one code, mapped to HTTP once by the server and back
once by the REST client."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from keel.errors import ERRORS_BY_CODE, KeelError, StoreUnavailable, Unauthenticated
from keel.server.errors import install_error_handlers
from keel.store.rest.http import _raise_for_error


def answer_to(error: Exception) -> httpx.Response:
    """What an app with Keel's error handlers answers when a route raises ``error``."""
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/")
    def fail() -> None:
        raise error

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://keel") as client:
            return await client.get("/")

    return asyncio.run(get())


def test_each_code_names_one_error() -> None:
    assert len(ERRORS_BY_CODE) == len(set(ERRORS_BY_CODE.values()))
    assert all(cls.code == code for code, cls in ERRORS_BY_CODE.items())
    tree = {cls for cls in all_subclasses(KeelError) if cls.__module__ == "keel.errors"}
    assert set(ERRORS_BY_CODE.values()) == {KeelError, *tree}


def all_subclasses(cls: type[KeelError]) -> set[type[KeelError]]:
    found = set(cls.__subclasses__())
    return found.union(*(all_subclasses(sub) for sub in found))


@pytest.mark.parametrize("cls", sorted(ERRORS_BY_CODE.values(), key=lambda c: c.code))
def test_an_error_crosses_the_wire_as_itself(cls: type[KeelError]) -> None:
    response = answer_to(cls("what went wrong"))
    assert response.status_code == cls.status_code
    assert response.json() == {"error": {"code": cls.code, "message": "what went wrong"}}
    with pytest.raises(KeelError) as raised:
        _raise_for_error(response)
    assert type(raised.value) is cls
    if cls is not StoreUnavailable:  # a 503 reads as the server being away, whatever it says
        assert raised.value.message == "what went wrong"


def test_unauthenticated_is_a_401_that_names_its_scheme() -> None:
    assert (Unauthenticated.status_code, Unauthenticated.code) == (401, "unauthenticated")
    response = answer_to(Unauthenticated("the token has expired"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_401_from_a_framework_dependency_is_unauthenticated_too() -> None:
    error = HTTPException(401, "Not authenticated", headers={"WWW-Authenticate": "Bearer"})
    response = answer_to(error)
    assert response.headers["www-authenticate"] == "Bearer"
    with pytest.raises(Unauthenticated, match="Not authenticated"):
        _raise_for_error(response)


def test_a_401_without_a_keel_body_is_not_mistaken_for_a_keel_error() -> None:
    response = httpx.Response(401, text="<html>login</html>", request=httpx.Request("GET", "/"))
    with pytest.raises(KeelError) as raised:
        _raise_for_error(response)
    assert "401" in raised.value.message
