"""The Discoveries: what the discovery lifecycle (library-svc decides, ingest-svc sends feedback) did with each
user's recommended tracks, folded into the gateway's read model; the page, its API, and the user's discovery
playlists mirrored into Navidrome when Navidrome serves /rest."""
