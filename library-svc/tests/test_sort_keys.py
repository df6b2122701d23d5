"""Sort keys: what the catalog sorts artists, albums and titles by (leading articles dropped, case and accents not)."""

from __future__ import annotations

import pytest

from library_svc.domain.ids import sort_key


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("The Beatles", "beatles"),
        ("the the", "the"),
        ("A Tribe Called Quest", "tribe called quest"),
        ("An Pierlé", "pierle"),
        ("Los Lobos", "lobos"),
        ("Les Négresses Vertes", "negresses vertes"),
        ("Die Ärzte", "arzte"),
        ("  The  Cure ", " cure"),  # only the article and its one space go
        ("The", "the"),  # an article alone is the whole name
        ("The ", "the"),
        ("Theatre of Tragedy", "theatre of tragedy"),
        ("Anathema", "anathema"),
        ("Lesley Gore", "lesley gore"),
        ("Them\tCrooked Vultures", "them\tcrooked vultures"),
        ("The\tTragically Hip", "the\ttragically hip"),  # a tab is no article's space
        ("Über Alles", "uber alles"),
        ("", ""),
    ],
)
def test_sort_key_drops_one_leading_article(name: str, key: str) -> None:
    assert sort_key(name) == key
