"""``GET /docs``: the service's OpenAPI document as one readable HTML page.

Rendered on the server from the same document ``/openapi.json`` serves (no script, no
external assets, so it works offline and under a strict content security policy): every
operation with its method, path, summary, access, parameters (where each is sent, its type and
allowed values), request body schema name and responses.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

import falcon.asgi

from nexus.web.routing import endpoint

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.05rem;margin:1.6rem 0 .3rem;font-family:ui-monospace,monospace}
.m{display:inline-block;min-width:4.2rem;font-weight:600}.muted{color:#666}
table{border-collapse:collapse;margin:.3rem 0 .6rem}td,th{border:1px solid #ddd;padding:.2rem .5rem;
text-align:left;vertical-align:top}code{font-family:ui-monospace,monospace}
"""


def _schema_text(schema: Mapping[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "enum" in schema:
        return "one of " + ", ".join(repr(v) for v in schema["enum"])
    if "anyOf" in schema:
        return " | ".join(_schema_text(s) for s in schema["anyOf"])
    kind = str(schema.get("type", "any"))
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        return f"list of {_schema_text(schema['items'])}"
    extra = [f"{k} {schema[k]}" for k in ("format", "pattern", "minimum", "maximum") if k in schema]
    return kind + (f" ({', '.join(extra)})" if extra else "")


def render_docs(document: Mapping[str, Any]) -> str:
    """The HTML page of an OpenAPI document."""
    e = html.escape
    info = document.get("info", {})
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{e(str(info.get('title', 'API')))}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{e(str(info.get('title', 'API')))} <span class='muted'>"
        f"{e(str(info.get('version', '')))}</span></h1>",
        "<p class='muted'>The machine-readable document: <a href='openapi.json'>"
        "openapi.json</a>. Errors are problem+json (RFC 9457).</p>",
    ]
    for path, item in sorted(document.get("paths", {}).items()):
        for method, op in item.items():
            if not isinstance(op, Mapping):
                continue
            parts.append(
                f"<h2><span class='m'>{e(method.upper())}</span> {e(path)}</h2>"
                f"<p>{e(str(op.get('summary') or op.get('description') or ''))}</p>"
            )
            access = "public" if op.get("security") == [] else "needs a bearer token"
            parts.append(f"<p class='muted'>{access}</p>")
            params = op.get("parameters", [])
            if params:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>type</th></tr>")
                for p in params:
                    required = " (required)" if p.get("required") else ""
                    parts.append(
                        f"<tr><td><code>{e(str(p.get('name')))}</code>{required}</td>"
                        f"<td>{e(str(p.get('in')))}</td>"
                        f"<td>{e(_schema_text(p.get('schema', {})))}</td></tr>"
                    )
                parts.append("</table>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if body:
                parts.append(f"<p>body: <code>{e(_schema_text(body.get('schema', {})))}</code></p>")
            responses = op.get("responses", {})
            if responses:
                listed = ", ".join(
                    f"{code} {r.get('description', '')}".strip() for code, r in responses.items()
                )
                parts.append(f"<p class='muted'>responses: {e(listed)}</p>")
    parts.append("</body></html>")
    return "".join(parts)


class DocsResource:
    """``GET /docs``: :func:`render_docs` of the service's document (built once)."""

    def __init__(self, build: Callable[[], dict[str, Any]]) -> None:
        self._build = build
        self._page: str | None = None

    @endpoint(public=True, in_schema=False)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """The API reference page."""
        if self._page is None:
            self._page = render_docs(self._build())
        resp.content_type = "text/html; charset=utf-8"
        resp.text = self._page
