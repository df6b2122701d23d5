"""Library ids after folding moved to the shared `infra.textfold.id_key`: the ids a Subsonic client holds stay valid."""

from __future__ import annotations

from library_svc.domain.ids import album_id, artist_id


def test_ids_are_the_ones_made_before_the_shared_fold() -> None:
    """Values made by library-svc's own fold before it moved: no migration is needed because nothing moved."""
    assert artist_id("Beyoncé") == "902528c249ed550cb515c0534cc40b04"
    assert artist_id("Sigur Rós") == "78d2da233a065bac902cdbe8c55b36c9"
    assert artist_id("The Beatles") == "5f911f3541a4566e8b86b891ad725ea1"
    assert artist_id("宇多田ヒカル") == "fbfffb0a1e385c36a4904357f8408630"
    assert artist_id("Motörhead") == "93a93422e3c058c494ad6ab054e88ec9"
    assert album_id("Sigur Rós", "Ágætis byrjun") == "547dd090495b5a7d8206c39279dfd4b5"
