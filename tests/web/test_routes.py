"""by_prefix (web/routes.py): a router is skipped for addresses none of its routes can match, and otherwise
matches exactly as before."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Match, Mount

from smeai.web.routes import by_prefix


def _app(router: APIRouter) -> TestClient:
    app = FastAPI()
    app.include_router(by_prefix(router))

    @app.get("/other/{x}")
    def other(x: str) -> dict[str, str]:
        return {"other": x}

    return TestClient(app)


def test_a_wrapped_router_answers_its_addresses_and_only_those():
    router = APIRouter(prefix="/api/v1")

    @router.get("/things/{thing_id}")
    def thing(thing_id: int) -> dict[str, int]:
        return {"id": thing_id}

    @router.post("/things")
    def make() -> dict[str, str]:
        return {"made": "yes"}

    wrapped = by_prefix(router)
    assert wrapped.prefixes == ("/api/v1/things", "/api/v1/things/")  # type: ignore[attr-defined]
    scope = {"type": "http", "method": "GET", "path": "/catalog", "root_path": "", "headers": []}
    assert wrapped.matches(scope) == (Match.NONE, {})
    client = _app(router)
    assert client.get("/api/v1/things/7").json() == {"id": 7}
    assert client.post("/api/v1/things").json() == {"made": "yes"}
    assert client.get("/api/v1/things").status_code == 405  # the path is one of its routes: the method is not
    assert client.get("/api/v1/nothing").status_code == 404
    assert client.get("/other/x").json() == {"other": "x"}
    assert client.get("/api/v1/things/abc").status_code == 422


def test_a_router_with_a_mount_is_left_as_it_is():
    router = APIRouter()
    router.routes.append(Mount("/files", routes=[]))
    assert by_prefix(router) is router
