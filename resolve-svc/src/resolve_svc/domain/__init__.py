"""The pure core of resolution: text cleaning, match distance, album and cover choice. No I/O, no settings."""
