"""Path template rules, shared by the gateway (on save) and library-svc (on import)."""

from __future__ import annotations

import time

import pytest

from contracts.jsonp import callback_problem, wrap
from contracts.pathtemplate import DEFAULT_PATH_TEMPLATE, MAX_WIDTH, SAMPLE, preview, render_path, template_problem


@pytest.mark.parametrize(
    "template",
    [
        DEFAULT_PATH_TEMPLATE,
        "{artist}/{title}.{ext}",
        "{albumartist:_<20}/{album:.30}/{track:03d} {title:>10s}.{ext}",
        f"{{albumartist:{MAX_WIDTH}}}/{{title}}.{{ext}}",
        "Music/{albumartist}/{{literal braces}} {title}.{ext}",
    ],
)
def test_usable_templates(template: str) -> None:
    assert template_problem(template) is None
    assert render_path(template, SAMPLE).endswith(".flac")


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{nosuchfield}/{title}.{ext}", "unknown field {nosuchfield}"),
        ("{title:>999999999}.{ext}", f"larger than {MAX_WIDTH}"),
        ("{track:0999999999999d}.{ext}", f"larger than {MAX_WIDTH}"),
        ("{title:.1000}.{ext}", "precision"),
        ("../{title}.{ext}", "'..'"),
        ("a/./{title}.{ext}", "'.'"),
        ("a\\..\\{title}.{ext}", "'..'"),
        ("/srv/{title}.{ext}", "relative"),
        ("C:/{title}.{ext}", "relative"),
        ("~/{title}.{ext}", "relative"),
        ("{title[0]}.{ext}", "unknown field"),
        ("{title.upper}.{ext}", "unknown field"),
        ("{title!r}.{ext}", "convert"),
        ("{title:{track}}.{ext}", "format"),
        ("{title:,}.{ext}", "format"),
        ("{title}.{ext", "unbalanced"),
        ("{albumartist}/{ext}/{title}", "{ext}"),
        ("", "names no file"),
        ("x" * 501, "longer"),
    ],
)
def test_refused_templates_say_why(template: str, reason: str) -> None:
    problem = template_problem(template)
    assert problem is not None and reason in problem
    with pytest.raises(ValueError) as refused:
        render_path(template, SAMPLE)
    assert str(refused.value) == problem


def test_rendering_the_widest_template_is_quick_and_bounded() -> None:
    widest = "/".join([f"{{title:{MAX_WIDTH}}}"] * 8) + f"/{{title:>{MAX_WIDTH}}}.{{ext}}"
    started = time.perf_counter()
    path = preview(widest)
    assert time.perf_counter() - started < 1.0  # a bound on runaway work, not a speed figure
    assert all(len(part.encode()) <= 255 for part in path.split("/"))


def test_preview_of_the_default_template() -> None:
    assert preview(DEFAULT_PATH_TEMPLATE) == "Boards of Canada/Music Has the Right to Children (1998)/1-07 Roygbiv.flac"


@pytest.mark.parametrize(
    ("callback", "safe"),
    [
        ("cb", True),
        ("jQuery3510_1700000000", True),
        ("app.player.$got", True),
        ("_", True),
        ("a" * 128, True),
        ("a" * 129, False),
        (None, False),
        ("", False),
        ("alert(1)//", False),
        ("</script><script>alert(1)</script>", False),
        ("a;alert(1)", False),
        ("cb\u2028alert(1)", False),
        ("a..b", False),
        ("a.", False),
        ("1cb", False),
        ("é", False),
    ],
)
def test_jsonp_callback_rule(callback: str | None, safe: bool) -> None:
    assert (callback_problem(callback) is None) == safe


def test_jsonp_wrap_escapes_line_separators_and_refuses_unsafe_names() -> None:
    assert wrap("cb", '{"t": "a\u2028b\u2029c"}') == b'cb({"t": "a\\u2028b\\u2029c"});'
    with pytest.raises(ValueError, match="unsafe"):
        wrap("alert(1)//", "{}")
