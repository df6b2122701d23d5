"""Artist and album facts, top and similar songs: MusicBrainz and ListenBrainz answers, cached, matched to the
library."""
