"""library-svc never writes an unsafe JSONP callback, whatever reaches it (the gateway refuses them first)."""

from __future__ import annotations

import pytest

from library_svc.api.render import envelope, render

PAYLOADS = ["alert(1)//", "</script><script>alert(1)</script>", "a;alert(1)", "cb\u2028alert(1)", "x" * 200, None]


@pytest.mark.parametrize("callback", PAYLOADS)
def test_an_unsafe_callback_is_never_written(callback: str | None) -> None:
    body, content_type = render(envelope({}, server_version="t"), "jsonp", callback)
    assert content_type.startswith("application/xml")
    assert b"alert" not in body and b"xxxxx" not in body


def test_a_safe_callback_wraps_the_json_and_escapes_line_separators() -> None:
    body, content_type = render(envelope({"lyrics": {"value": "a\u2028b"}}, server_version="t"), "jsonp", "app.cb")
    assert content_type == "application/javascript"
    assert body.startswith(b"app.cb(") and body.endswith(b");") and b"\\u2028" in body
