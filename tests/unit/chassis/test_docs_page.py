"""``GET /docs``: the OpenAPI document as a readable page, public, offline, escaped."""

from __future__ import annotations

import falcon.asgi
import falcon.testing
import msgspec

from nexus.web import QueryParams, create_app, endpoint
from nexus.web.docs_page import render_docs


class Sides(QueryParams):
    side: list[str] = msgspec.field(default_factory=list)
    kind: str = "limit"


class Orders:
    @endpoint(query=Sides, roles=("trader",))
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """List the <caller's> orders."""
        resp.media = []


def test_the_page_lists_every_operation_with_its_parameters_and_access() -> None:
    client = falcon.testing.TestClient(
        create_app("orders", [("/users/{user_id}/orders", Orders())])
    )
    resp = client.simulate_get("/docs")  # no token: the reference is public
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    page = resp.text
    assert "GET</span> /users/{user_id}/orders" in page
    assert "List the &lt;caller&#x27;s&gt; orders." in page  # escaped, never markup
    assert "<code>user_id</code> (required)</td><td>path</td>" in page
    assert "<code>side</code></td><td>query</td><td>list of string" in page
    assert "needs a bearer token" in page
    assert "<script" not in page and "http" not in page.split("</style>")[0]
    assert client.simulate_get("/openapi.json").json["paths"]  # the page's own source


def test_a_document_without_paths_renders_a_title_only() -> None:
    page = render_docs({"info": {"title": "empty", "version": "1"}})
    assert "<h1>empty" in page and "<h2>" not in page
