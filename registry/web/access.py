"""Who is looking at the dashboard: the token a viewer signed in with, kept in a cookie.

The pages are rendered on the server, so under REGISTRY_AUTH_READS they need the viewer's token
on every navigation. Signing in posts the token once (in the body, never in a URL); the server
checks it and keeps it in an HttpOnly, SameSite=Strict cookie that scripts cannot read and other
sites cannot send. The JSON API never reads that cookie: writes still need the Authorization
header, which the page's script sends from sessionStorage, so the cookie cannot be used to forge
a change from another site.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, request

from registry.api.auth import ANONYMOUS, authorize, identify
from registry.api.context import registry
from registry.errors import Forbidden, Unauthorized
from registry.services.tokens import Identity

COOKIE = "registry_ui_token"
# Long enough for any token the registry issues; a longer cookie is no token of ours.
_MAX_TOKEN = 512


def viewer() -> Identity:
    """Return who is viewing: the signed-in token's identity, or anonymous.

    Raises Unauthorized when the cookie holds a token that is no longer valid.
    """
    token = request.cookies.get(COOKIE)
    if not token:
        return ANONYMOUS
    return identify(registry(), f"Bearer {token}")


def reader() -> Identity:
    """Return the viewer if they may read. Raises Unauthorized, Forbidden."""
    return authorize(registry(), viewer(), "reader")


def can_write(identity: Identity) -> bool:
    """Tell whether the viewer's role may change the registry (publisher or admin)."""
    return identity is not ANONYMOUS and identity.has("publisher")


def _same_origin() -> bool:
    # Browsers send Origin with every POST; a form on another site must not sign anyone in.
    origin = request.headers.get("Origin")
    return origin is None or origin == request.host_url.rstrip("/")


def local_path(target: str | None) -> str:
    """Return ``target`` if it is a path on this site, else the dashboard's home."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return "/"
    return target


def sign_in() -> Response:
    """Check the posted token and keep it in the viewer's cookie."""
    if not _same_origin():
        raise Forbidden("Sign in from this site's own page.")
    token = (request.form.get("token") or "").strip()
    if not token or len(token) > _MAX_TOKEN:
        raise Unauthorized("Paste a token made with 'manage.py create-token'.")
    try:
        identify(registry(), f"Bearer {token}")
    except Unauthorized:
        raise Unauthorized(
            "That token is not valid: paste the token alone, as create-token printed it."
        ) from None
    response = redirect(local_path(request.form.get("next")), 303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=request.is_secure,
        path="/",
    )
    return response


def sign_out() -> Response:
    """Forget the viewer's token."""
    if not _same_origin():
        raise Forbidden("Sign out from this site's own page.")
    response = redirect("/", 303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict")
    return response


def register_access(blueprint: Blueprint) -> None:
    """Add the sign-in and sign-out routes."""
    blueprint.add_url_rule("/ui/session", "sign_in", sign_in, methods=["POST"])
    blueprint.add_url_rule("/ui/session/end", "sign_out", sign_out, methods=["POST"])
