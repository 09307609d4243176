"""What reads expose: the spec and /metrics closed like every read, the docs page a shell.

Under REGISTRY_AUTH_READS the spec names every model, feature and category, and /metrics
every model's traffic, so both need a reader token; /metrics also takes REGISTRY_METRICS_TOKEN,
the scraper's own. The docs page holds no registry data: it asks for the token and sends it.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, render_template_string, request

from registry.api.auth import ANONYMOUS, authorize, check_role, identify
from registry.api.context import registry
from registry.errors import Unauthorized


def reader_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a view so that it answers only callers who may read."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        check_role("reader")
        return view(*args, **kwargs)

    return wrapper


def _metrics_only(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        reg = registry()
        header = request.environ.get("HTTP_AUTHORIZATION")
        secret = reg.config.metrics_token
        if secret and header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                token.strip().encode(), secret.encode()
            ):
                return view(*args, **kwargs)
        identity = identify(reg, header)
        if secret and identity is ANONYMOUS:
            raise Unauthorized("This needs the metrics token or a reader token.")
        authorize(reg, identity, "reader")
        return view(*args, **kwargs)

    return wrapper


def guard_metrics(app: Flask) -> None:
    """Close /metrics as reads are closed, or to all but the scraper's token."""
    app.view_functions["metrics"] = _metrics_only(app.view_functions["metrics"])


def docs_page(title: str, specs_url: str) -> str:
    """Return the Swagger UI page: under REGISTRY_AUTH_READS, it asks for a token first."""
    return render_template_string(
        _PAGE,
        title=title,
        specs_url=specs_url,
        needs_token=registry().config.auth_reads,
    )


# flask_restx's swagger-ui.html, with a token field and an interceptor that sends the token
# to this server only, from sessionStorage (gone with the tab, never in a URL).
_PAGE = """<!DOCTYPE html>
<html>
<head>
  <title>{{ title }}</title>
  {% include 'swagger-ui-css.html' %}
  <link rel="icon" type="image/png" href="{{ swagger_static('favicon-32x32.png') }}" />
  <style>#token-form{font-family:sans-serif;padding:12px 20px;background:#eee}</style>
</head>
<body>
  {% if needs_token %}
  <form id="token-form">
    <label>Reading this registry needs a reader token:
      <input id="registry-token" type="password" autocomplete="off" size="50" /></label>
    <button type="submit">Show the API</button>
  </form>
  {% endif %}
  <div id="swagger-ui"></div>
  {% include 'swagger-ui-libs.html' %}
  <script type="text/javascript">
    const SPEC = {{ specs_url | tojson }};
    const NEEDS_TOKEN = {{ needs_token | tojson }};
    const KEY = "registry-token";

    function sameOrigin(url) {
      try { return new URL(url, window.location.href).origin === window.location.origin; }
      catch (error) { return false; }
    }

    function start() {
      const token = window.sessionStorage.getItem(KEY) || "";
      window.ui = SwaggerUIBundle({
        url: SPEC,
        dom_id: "#swagger-ui",
        validatorUrl: null,
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset.slice(1)],
        plugins: [SwaggerUIBundle.plugins.DownloadUrl],
        docExpansion: "none",
        // The spec and "Try it out" carry the token; a token set with Authorize wins. The
        // dialog takes the token alone (as create-token prints it): "Bearer " is added here.
        requestInterceptor: (req) => {
          const given = (req.headers.Authorization || "").trim();
          if (given && !/^bearer /i.test(given)) {
            req.headers.Authorization = "Bearer " + given;
          } else if (!given && token && sameOrigin(req.url)) {
            req.headers.Authorization = "Bearer " + token;
          }
          return req;
        },
        onComplete: () => {
          if (token) { window.ui.preauthorizeApiKey("bearer", token); }
        },
      });
    }

    window.onload = function () {
      if (!NEEDS_TOKEN) { start(); return; }
      const form = document.getElementById("token-form");
      const field = document.getElementById("registry-token");
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        window.sessionStorage.setItem(KEY, field.value.trim());
        window.location.reload();
      });
      if (window.sessionStorage.getItem(KEY)) { start(); }
    };
  </script>
</body>
</html>
"""
