"""One text-folding module for every service, with named, versioned variants. Pure: standard library and anyascii.

Every service compares or keys names, and each used to fold them its own way. The variants here are the only ones:

- display (`display_key`): tidy text as shown; look-alike punctuation unified, spaces collapsed, case and accents
  kept ("Don\u2019t  Stop" → "Don't Stop").
- match (`match_key`): comparing names; case, accents, punctuation and "&"/"and" folded, the letters of every script
  kept ("Sigur Rós" → "sigur ros", "千本桜" stays "千本桜").
- translit (`translit_key`): a Latin transliteration of a match key, as further evidence ("Кино" → "kino").
- id (`id_key`): stable identifiers (library ids), sorting and searching ("Beyoncé" → "beyonce").

`credit_names` splits an artist credit into the artists it names ("A & B", "A, B", "A feat. B", "A and B").

Versions: a key that is stored (library ids, the request gate) must not change under its readers. Each variant has
a version in `VERSIONS`; changing a rule means a new version, and whoever stores that key says how its old keys stay
readable. The id variant is version 1: exactly the rule library-svc's ids were made with, so no id changes.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii

__all__ = [
    "VERSIONS",
    "credit_names",
    "display_key",
    "id_key",
    "is_latin",
    "match_key",
    "match_tokens",
    "translit_key",
]

VERSIONS = {"display": 1, "match": 1, "translit": 1, "id": 1}
"""The version of each variant's rules. Bump one when its rules change, and migrate what stores its keys."""

_HYPHENS = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_APOSTROPHES = "\u2018\u2019\u201a\u201b\u2032\u00b4\u0060\uff07"
_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb\uff02"
_TRANSLATE = str.maketrans(
    {**{c: "-" for c in _HYPHENS}, **{c: "'" for c in _APOSTROPHES}, **{c: '"' for c in _QUOTES}, "\u00a0": " "}
)
# letters that Unicode does not decompose into a base letter and an accent
_FOLD_EXTRA = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "đ": "d", "ł": "l", "Ł": "L"})
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)
_UNDERSCORE = re.compile(r"_+")
_SPACES = re.compile(r"\s+")


def display_key(text: str) -> str:
    """The text as shown, tidied: NFKC, one hyphen, one apostrophe, one quote, single spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).translate(_TRANSLATE)).strip()


_KANA_VOICING = frozenset("\u3099\u309a")


def _is_accent(c: str) -> bool:
    """A combining mark that is an accent: kana voicing marks make another letter ("テ" → "デ"), so they stay."""
    return bool(unicodedata.combining(c)) and c not in _KANA_VOICING


@lru_cache(maxsize=1 << 15)
def match_key(text: str) -> str:
    """The form names are compared in: lower case, accents and look-alike punctuation folded, "&" and "+" spelled
    "and", apostrophes dropped ("Don't" → "dont"), other punctuation and symbols a space. Letters and digits of every
    script are kept, so a non-Latin title never folds to nothing."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE).translate(_FOLD_EXTRA)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not _is_accent(c))
    # NFKD split Hangul syllables and voiced kana too: put them back together before punctuation goes
    text = unicodedata.normalize("NFC", text).casefold().replace("&", " and ").replace("+", " and ").replace("'", "")
    text = _UNDERSCORE.sub(" ", _PUNCT.sub(" ", text))
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=1 << 15)
def translit_key(text: str) -> str:
    """`match_key` of a Latin transliteration ("Кино" → "kino"; emoji become their names, "🔥" → "fire").

    Transliteration is a guess (Japanese kanji read as Chinese), so it is evidence beside the match key and the
    MusicBrainz aliases, never a key on its own."""
    return match_key(anyascii(display_key(text)).replace(":", " "))


_NO_SPACE_SCRIPTS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\u0e80-\u0eff]")


def match_tokens(text: str) -> list[str]:
    """Words of the match key. Scripts written without spaces (Han, kana, Thai, Lao) give one token per character,
    so two titles in them can share part of a word the way Latin titles share words."""
    out: list[str] = []
    for word in match_key(text).split():
        if _NO_SPACE_SCRIPTS.search(word):
            out.extend(_split_script(word))
        else:
            out.append(word)
    return out


def _split_script(word: str) -> list[str]:
    out: list[str] = []
    latin = ""
    for c in word:
        if _NO_SPACE_SCRIPTS.match(c):
            if latin:
                out.append(latin)
                latin = ""
            out.append(c)
        else:
            latin += c
    if latin:
        out.append(latin)
    return out


def is_latin(text: str) -> bool:
    """Every letter is a Latin one (accents allowed): "Björk" is, "Кино" and "宇多田ヒカル" are not."""
    return all(not c.isalpha() or c.isascii() or unicodedata.name(c, "").startswith("LATIN") for c in text)


_CREDIT_SPLIT = re.compile(
    r"\s*(?:,|;|&|\+|\s\u00d7\s|\sx\s|\band\b|\bfeat\b\.?|\bft\b\.?|\bfeaturing\b|\bwith\b|\bvs\b\.?|\u3001)\s*",
    re.IGNORECASE,
)


def credit_names(credit: str) -> list[str]:
    """The artists an artist credit names, as match keys, in order: "A & B", "A, B", "A feat. B" and "A and B" all
    give ["a", "b"]. A band whose name holds "&" ("Simon & Garfunkel") splits too; compare it with a credit split the
    same way."""
    text = unicodedata.normalize("NFKC", credit)
    names = (match_key(part) for part in _CREDIT_SPLIT.split(text))
    return [n for n in names if n]


@lru_cache(maxsize=1 << 16)  # names repeat across a library's tracks; a replay folds each often
def id_key(text: str) -> str:
    """Version 1 of the id fold: casefolded, accents removed, nothing else. Library ids are made from it, and a
    Subsonic client keeps those ids: this rule does not change (a new rule would be a new variant)."""
    if text.isascii():  # nothing to decompose, and casefold is lower: the common case, ten times faster
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
