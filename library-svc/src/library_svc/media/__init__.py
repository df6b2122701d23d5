"""Media the API serves beyond the files themselves: transcodes (ffmpeg) and resized covers (Pillow)."""
