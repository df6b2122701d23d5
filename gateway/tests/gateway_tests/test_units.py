"""Pure parts, table-driven: Subsonic auth decisions, envelopes, SSE cursors, request keys."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contracts.common import TrackQuery
from gateway.gatekey import request_key
from gateway.readmodel.feed import format_cursor, parse_cursor
from gateway.subsonic.auth import AuthFailure, AuthPolicy, authenticate
from gateway.subsonic.envelope import Format, envelope, error

SECRET = "s3cret-app-pw"


def _token(salt: str, secret: str = SECRET) -> str:
    return hashlib.md5((secret + salt).encode()).hexdigest()


@pytest.mark.parametrize(
    ("params", "policy", "expected"),
    [
        ({"u": "ann", "t": _token("salty1"), "s": "salty1"}, AuthPolicy(), "ann"),
        ({"u": "ann", "t": _token("salty1").upper(), "s": "salty1"}, AuthPolicy(), "ann"),
        ({"u": "ann", "t": _token("salty1"), "s": "other"}, AuthPolicy(), 40),
        ({"u": "ann", "p": SECRET}, AuthPolicy(), "ann"),
        ({"u": "ann", "p": "enc:" + SECRET.encode().hex()}, AuthPolicy(), "ann"),
        ({"u": "ann", "p": "enc:zz"}, AuthPolicy(), 40),
        ({"u": "bob", "p": SECRET}, AuthPolicy(), 40),
        ({"apiKey": SECRET}, AuthPolicy(), "ann"),
        ({"apiKey": "nope"}, AuthPolicy(), 44),
        ({"apiKey": SECRET, "u": "ann"}, AuthPolicy(), 43),
        ({"u": "ann", "p": SECRET, "t": "x", "s": "y"}, AuthPolicy(), 43),
        ({"u": "ann", "t": _token("salty1")}, AuthPolicy(), 10),
        ({"u": "ann"}, AuthPolicy(), 10),
        ({}, AuthPolicy(), 10),
        ({"u": "ann", "t": _token("salty1"), "s": "salty1"}, AuthPolicy(allow_token=False), 41),
        ({"u": "ann", "p": SECRET}, AuthPolicy(allow_plain=False), 42),
    ],
)
def test_subsonic_auth(params: dict[str, str], policy: AuthPolicy, expected: str | int) -> None:
    result = authenticate(
        params,
        lambda u: SECRET if u == "ann" else None,
        lambda k: "ann" if k == SECRET else None,
        policy,
    )
    if isinstance(expected, str):
        assert result == expected
    else:
        assert isinstance(result, AuthFailure) and result.code == expected


def test_error_envelopes_in_xml_and_json() -> None:
    body, kind = error("xml", 40, 'Wrong "user" & password')
    root = ET.fromstring(body)
    assert kind.startswith("application/xml") and root.get("status") == "failed"
    err = root.find("{http://subsonic.org/restapi}error")
    assert err is not None and err.get("code") == "40" and err.get("message") == 'Wrong "user" & password'
    body, kind = error("json", 44, "Invalid API key")
    assert json.loads(body)["subsonic-response"]["error"] == {"code": 44, "message": "Invalid API key"}
    body, _ = envelope("xml", "ok", {"openSubsonicExtensions": [{"name": "formPost", "versions": [1]}]})
    ext = ET.fromstring(body).find("{http://subsonic.org/restapi}openSubsonicExtensions")
    assert ext is not None and ext.get("name") == "formPost"


@pytest.mark.parametrize(
    ("params", "kind", "callback"),
    [
        ({"f": "json"}, "json", None),
        ({"f": "xml"}, "xml", None),
        ({}, "xml", None),
        ({"f": "jsonp", "callback": "cb"}, "jsonp", "cb"),
        ({"f": "jsonp", "callback": "jQuery3510_1700000000"}, "jsonp", "jQuery3510_1700000000"),
        ({"f": "jsonp", "callback": "app.player.$got"}, "jsonp", "app.player.$got"),
        ({"f": "jsonp"}, "xml", None),  # no callback: as the built-in API answers it
        ({"f": "jsonp", "callback": ""}, "xml", None),
        ({"f": "jsonp", "callback": "alert(document.cookie);cb"}, "xml", None),  # script, not a name
        ({"f": "jsonp", "callback": "cb</script>"}, "xml", None),
        ({"f": "jsonp", "callback": "1cb"}, "xml", None),
        ({"f": "jsonp", "callback": "a" * 200}, "xml", None),
    ],
)
def test_response_format_and_jsonp_callback(params: dict[str, str], kind: str, callback: str | None) -> None:
    assert Format.of(params) == Format(kind, callback)


def test_jsonp_envelope_is_the_json_envelope_wrapped_in_the_callback() -> None:
    body, kind = error(Format("jsonp", "onAnswer"), 40, "Wrong username or password")
    text = body.decode()
    assert kind == "application/javascript"
    assert text.startswith("onAnswer(") and text.endswith(");")
    assert json.loads(text[len("onAnswer(") : -2]) == json.loads(error("json", 40, "Wrong username or password")[0])


def test_sse_cursor_round_trip_and_garbage() -> None:
    cursor = {"INGEST": 12, "RESOLVE": 4, "ACQUIRE": 9, "LIBRARY": 3, "GATEWAY": 7, "DELIVERY": 2}
    assert format_cursor(cursor) == "12-4-9-3-7-2"
    assert parse_cursor("12-4-9-3-7-2") == cursor
    # a cursor a browser kept from before DELIVERY was folded resumes with none of it seen
    assert parse_cursor("12-4-9-3-7") == cursor | {"DELIVERY": 0}
    for bad in (None, "", "1-2-3", "a-b-c-d-e", "1-2-3-4-5-6-7", "-1-2-3-4"):
        assert parse_cursor(bad) is None


def test_request_keys_ignore_case_and_spacing_but_not_the_album() -> None:
    a = request_key(TrackQuery(artist="Boards of Canada", title="Roygbiv"), None)
    assert a == request_key(TrackQuery(artist="  boards  OF canada", title="ROYGBIV "), None)
    assert a != request_key(TrackQuery(artist="Boards of Canada", title="Roygbiv", album="Music Has the Right"), None)
    assert request_key(TrackQuery(), "https://x.test/a").startswith("url.")


def test_a_database_from_before_the_retry_columns_gets_them(tmp_path: Path) -> None:
    from sqlalchemy import inspect

    from gateway.db import make_engine

    path = tmp_path / "gateway.db"
    engine = make_engine(path)
    with engine.begin() as conn:  # as an older gateway left it
        conn.exec_driver_sql("ALTER TABLE view_tracks DROP COLUMN retry_stage")
        conn.exec_driver_sql("ALTER TABLE view_runs DROP COLUMN outcome")
    engine.dispose()
    engine = make_engine(path)
    found = inspect(engine)
    assert "retry_stage" in {c["name"] for c in found.get_columns("view_tracks")}
    assert "outcome" in {c["name"] for c in found.get_columns("view_runs")}
    engine.dispose()


def test_request_keys_fold_accents_and_punctuation_but_keep_other_scripts() -> None:
    beyonce = request_key(TrackQuery(artist="Beyoncé", title="Halo"), None)
    assert beyonce == request_key(TrackQuery(artist="Beyonce", title="HALO"), None)
    salt = request_key(TrackQuery(artist="Salt-N-Pepa", title="Push It"), None)
    assert salt == request_key(TrackQuery(artist="Salt\u2010N\u2010Pepa", title="Push It!"), None)
    assert request_key(TrackQuery(artist="Kino", title="千本桜"), None) != request_key(
        TrackQuery(artist="Kino", title="残酷な天使のテーゼ"), None
    )
