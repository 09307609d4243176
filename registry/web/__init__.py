"""The dashboard for people: server-rendered pages at / and /ui/..., beside Swagger UI.

Pages read through the same services as the JSON API and obey the same read rule; every change
a page makes goes through the JSON API with the viewer's token (registry/web/static/web/).
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, redirect

from registry.web.access import register_access
from registry.web.errors import register_errors
from registry.web.pages import register_pages

# Scripts and styles from this server's own files only: no inline script, no inline style, no
# other origin. Publisher text is escaped by the templates; this is the second line of defence.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if response.mimetype == "text/html":
        # Pages show registry data that a token may have opened: keep them out of caches.
        response.headers["Cache-Control"] = "no-store"
    return response


def make_blueprint() -> Blueprint:
    """Return the dashboard's blueprint: pages, sign-in, error pages, static files."""
    blueprint = Blueprint(
        "web",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/ui/static",
    )
    register_pages(blueprint)
    register_access(blueprint)
    for path in ("/ui", "/ui/"):
        blueprint.add_url_rule(path, f"home{path}", lambda: redirect("/", 308))
    register_errors(blueprint)
    blueprint.after_request(_secure)
    return blueprint


def init_web(app: Flask) -> None:
    """Serve the dashboard from ``app``."""
    app.register_blueprint(make_blueprint())
