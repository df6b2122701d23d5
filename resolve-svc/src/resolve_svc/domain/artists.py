"""Is this artist credit the recording's? Pure: no I/O.

A store writes a name its own way, and the evidence is weighed in three forms, the best one counting:
- the whole credit, folded: "Sigur Ros" is "Sigur Rós", "Beatles, The" is "The Beatles", "A feat. B" is "A";
- the artists it names, as a set: "A & B", "A, B", "A feat. B", "A and B" and "B & A" all credit A and B. Every artist
  the store names must be credited, and every main artist credited must be named, so "Queen & David Bowie" is not
  "Queen", and "Earth" is not "Earth, Wind & Fire";
- a Latin transliteration and the MusicBrainz aliases and sort names (which carry the Latin spellings): "Кино" is
  "Kino", "宇多田ヒカル" is "Hikaru Utada".

Worked examples (recording credit → store credit → similarity): "Sigur Rós" → "Sigur Ros" → 1.0;
"Daft Punk feat. Pharrell Williams" → "Daft Punk & Pharrell Williams" → 1.0; "Queen" → "Queens of the Stone Age"
→ 0.45; "Nirvana" → "Nirvana Tribute Band" → 0.78 (below the 0.8 a store hit needs).
"""

from __future__ import annotations

from infra.textfold import credit_names, translit_key

from .model import Artist
from .text import artist_variants, clean_artist, fold, similarity

__all__ = ["credit_similarity", "credited_forms"]

_FEATURING = frozenset({"feat", "ft", "featuring", "with"})


def _with_translit(forms: set[str]) -> set[str]:
    return forms | {t for t in (translit_key(f) for f in forms) if t}


def credited_forms(joined: str, credit: tuple[Artist, ...]) -> set[str]:
    """Every folded form the recording's whole credit may be written as."""
    forms = artist_variants(joined) | artist_variants(clean_artist(joined))
    for a in credit:
        forms |= artist_variants(a.name, a.sort_name, a.aliases)
    forms.add(" ".join(fold(a.name) for a in credit))  # the names side by side, join phrases left out
    return _with_translit(forms)


def _main_count(credit: tuple[Artist, ...]) -> int:
    """How many credited artists come before the first "feat."/"with" join phrase."""
    for i, a in enumerate(credit):
        if _FEATURING & set(a.join_phrase.lower().replace(".", " ").split()):
            return i + 1
    return len(credit)


def _set_similarity(got: str, credit: tuple[Artist, ...]) -> float:
    pieces = credit_names(got)
    if not credit or not pieces or (len(pieces) == 1 and len(credit) == 1):
        return 0.0
    per_artist = [_with_translit(artist_variants(a.name, a.sort_name, a.aliases)) for a in credit]

    def best(piece: str, forms: set[str]) -> float:
        candidates = {piece} | ({translit_key(piece)} - {""})
        return max((similarity(p, f) for p in candidates for f in forms), default=0.0)

    named = [max(best(p, forms) for forms in per_artist) for p in pieces]
    main = [max(best(p, forms) for p in pieces) for forms in per_artist[: _main_count(credit)]]
    return min(named + main)


def credit_similarity(got: str, joined: str, credit: tuple[Artist, ...]) -> float:
    """0..1: how surely the credit `got` names the recording's artists (`joined` is its whole credit text)."""
    wanted = credited_forms(joined, credit)
    got_forms = _with_translit(artist_variants(got) | artist_variants(clean_artist(got)))
    whole = max((similarity(w, g) for w in wanted for g in got_forms), default=0.0)
    if whole >= 1.0:
        return whole
    return max(whole, _set_similarity(got, credit))
