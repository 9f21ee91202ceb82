"""/docs and /redoc work on a machine with no internet: every file they load comes from
the server itself, served from the fastapi-offline package, never a CDN."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

from conftest import ServerProcess

EXTERNAL = re.compile(r"""(?:https?:)?//(?!127\.0\.0\.1|localhost)[\w.-]+""")


class Assets(HTMLParser):
    """The URLs a page loads: scripts, stylesheets, icons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("src", "href"):
                self.urls.append(value)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_docs_load_nothing_from_outside(server: ServerProcess, page: str) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        answer = http.get(page)
        assert answer.status_code == 200
        html = answer.text
        assert EXTERNAL.findall(html) == [], "the page names another host"
        parser = Assets()
        parser.feed(html)
        scripts = [u for u in parser.urls if u.endswith(".js")]
        assert scripts, "the page loads its viewer from the server"
        for url in parser.urls:
            asset = http.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 100, url
        # The page fetches the API's description from the server too.
        assert "/openapi.json" in html
        assert http.get("/openapi.json").json()["info"]["title"] == "Keel"


def test_swagger_ui_does_not_call_the_online_validator(server: ServerProcess) -> None:
    html = httpx.get(f"{server.url}/docs", timeout=10).text
    assert '"validatorUrl": null' in html
