"""Publisher text in the docs: shown as text by Swagger UI, never as HTML, links or images.

Swagger UI renders every description as Markdown with HTML allowed and bare URLs, www. names
and e-mail addresses turned into links, so escaping characters is not enough. An indented
code block is the one form it always shows as plain text: every line indented by four
spaces, after every kind of line break Markdown knows has been made a plain one.
"""

from __future__ import annotations

import re

# \r\n, \r and the Unicode separators Markdown parsers treat as line breaks.
_BREAKS = re.compile(r"\r\n?|[\u0085\u2028\u2029\u2424\v\f]")


def text_block(text: str) -> str:
    """Return ``text`` as a Markdown indented code block; empty text stays empty."""
    lines = _BREAKS.sub("\n", text).strip("\n").split("\n")
    if not any(line.strip() for line in lines):
        return ""
    return "\n".join(f"    {line}" for line in lines)
