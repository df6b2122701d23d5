"""The one rule for Subsonic's `f=jsonp&callback=name`, shared by the gateway and library-svc.

The callback is written into a script that the client's browser runs, so it must be a plain JavaScript name or a
dotted path of names (`cb`, `jQuery123_456`, `app.player.$got`) of bounded length. Anything else (`alert(1)//`,
`a;alert(1)`, `</script>`, U+2028) would be script injection: it is refused with Subsonic error 10, never echoed.
"""

from __future__ import annotations

import re

__all__ = ["CALLBACK_MAX", "callback_problem", "wrap"]

CALLBACK_MAX = 128
_CALLBACK = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*", re.ASCII)


def callback_problem(callback: str | None) -> str | None:
    """Why `callback` cannot be used (the text of Subsonic error 10), or None when it is a safe name."""
    if not callback:
        return "Required parameter is missing: callback (f=jsonp needs one)"
    if len(callback) > CALLBACK_MAX or not _CALLBACK.fullmatch(callback):
        return f"Invalid parameter callback: a JavaScript name or dotted path of at most {CALLBACK_MAX} characters"
    return None


def wrap(callback: str, json_text: str) -> bytes:
    """`callback(json);`, for a callback that passed `callback_problem`.

    U+2028 and U+2029 are valid inside JSON strings but end a line in older JavaScript engines; escaped, the data
    cannot break out of its string literal."""
    if callback_problem(callback) is not None:
        raise ValueError("unsafe JSONP callback")
    text = json_text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"{callback}({text});".encode()
