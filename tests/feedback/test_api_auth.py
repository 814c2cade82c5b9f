"""Every route of the app refuses a request without a valid key (no services needed: the
refusal comes before any Elasticsearch or Kafka call)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Route

from feedback.api import create_app
from feedback.keys import KeyStore
from feedback.settings import Settings
from tests.feedback.api_keys import bearer, issue_key, with_api

# Ingest is the one route without a key: it checks an HMAC signature instead (and refuses unsigned).
SIGNED_NOT_KEYED = {"/ingest/{channel}"}
EXPECTED = {"/", "/search", "/feedback/{feedback_id}", "/trends", "/alerts", "/openapi.json", "/ingest/{channel}"}


def walk(routes: Iterable[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(path, method) of every route, through included routers; an unknown kind of route fails."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from walk(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif isinstance(route, Route):
            for method in sorted(route.methods or {"GET"}):
                yield prefix + route.path, method
        else:
            raise AssertionError(f"route {route!r} is of a kind this walk does not know; teach it, do not skip it")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Nothing listens on port 9 (discard): a route that reached Elasticsearch would answer 503, not 401.
    base = Settings(es={"url": "http://127.0.0.1:9", "request_timeout": 1.0},
                    kafka={"bootstrap": "127.0.0.1:9"}, ingest={"rejects_dir": tmp_path / "rejects"})
    return with_api(base, tmp_path / "keys.json")


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "chat", path)


def test_no_route_answers_2xx_without_a_valid_key(settings: Settings) -> None:
    app = create_app(settings)
    revoked = issue_key(settings, departments=["billing"])
    KeyStore(settings.api_keys_file).revoke(revoked.split("_")[1])
    seen = set()
    with TestClient(app, raise_server_exceptions=False) as client:
        for path, method in walk(app.routes):
            if method == "HEAD":
                continue
            seen.add(path)
            url = _concrete(path)
            attempts = {
                "no key": {},
                "wrong key": bearer("fbk_000000000000_" + "x" * 43),
                "malformed key": {"X-API-Key": "let-me-in"},
                "revoked key": bearer(revoked),
            }
            for what, headers in attempts.items():
                res = client.request(method, url, headers=headers, content=b'{"x": 1}')
                assert res.status_code == 401, (method, path, what, res.status_code, res.text[:200])
                if path == "/":
                    assert "key-form" in res.text  # the page itself, which asks for the key
                else:
                    assert res.json()["detail"], (path, what)
                if path in SIGNED_NOT_KEYED:
                    assert "X-Feedback-Signature" in res.json()["detail"]
    assert seen == EXPECTED, f"routes changed: {sorted(seen ^ EXPECTED)}; say how each new one is protected"


def test_the_401_says_how_to_send_a_key(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        res = client.get("/alerts")
        assert res.status_code == 401 and res.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer <key>" in res.json()["detail"] and "X-API-Key" in res.json()["detail"]
        wrong = client.get("/alerts", headers=bearer("fbk_000000000000_" + "y" * 43))
        assert wrong.status_code == 401 and "unknown or revoked" in wrong.json()["detail"]


def test_a_valid_key_passes_the_gate_and_a_department_outside_it_is_403(settings: Settings) -> None:
    key = issue_key(settings, departments=["billing"])
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        page = client.get("/", headers=bearer(key))
        assert page.status_code == 200 and "key-form" in page.text and "<script>" in page.text
        assert "/static/" not in page.text and "cdn" not in page.text.lower()
        schema = client.get("/openapi.json", headers={"X-API-Key": key})
        assert schema.status_code == 200 and "/search" in schema.json()["paths"]
        for path in ("/search", "/trends", "/alerts"):
            res = client.get(path, params={"department": "orders"}, headers=bearer(key))
            assert res.status_code == 403, (path, res.text)
            assert "orders" in res.json()["detail"] and "billing" in res.json()["detail"]
        # Inside the key's departments the request goes on to Elasticsearch, which is down here.
        assert client.get("/search", params={"department": "billing"}, headers=bearer(key)).status_code == 503


def test_the_page_inlines_its_files_and_asks_for_the_key(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        res = client.get("/")
    assert res.status_code == 401 and res.headers["content-type"].startswith("text/html")
    assert 'id="api-key"' in res.text and "sessionStorage" in res.text and "Authorization" in res.text
    assert 'dir="auto"' in res.text
