"""The API's documentation pages, /docs (Swagger UI) and /redoc (ReDoc), with no CDN: their scripts and
styles come from the installed fastapi-offline package and are served by this node, so the pages
work on a network with no way out."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
ASSETS_DIR = str(files("fastapi_offline") / "static")  # swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js
# ReDoc's "API docs by Redocly" link shows a logo from its CDN (hidden when it can't load): not fetched.
REDOC_IMAGES = "img-src 'self' data: blob:"


def text_body(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route whose 200 is a file of `media_type` (its errors stay JSON: errors(...))."""
    return {200: {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}}


def install(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Serve the pages and their assets; the app is made with docs_url=None, redoc_url=None."""
    openapi_url = app.openapi_url or "/openapi.json"
    favicon = f"{ASSETS}/favicon.png"
    app.mount(ASSETS, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{app.title} API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=favicon,
            swagger_ui_parameters={"validatorUrl": None},  # else it asks validator.swagger.io for a badge
        )

    @app.get(redoc_url, include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=openapi_url, title=f"{app.title} API", redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=favicon, with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = REDOC_IMAGES
        return page
