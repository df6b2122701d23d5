"""The discovery lifecycle: library-svc decides what a recommended track becomes once it is in the library (kept,
hated, expired to the trash, restored, purged), keeps each user's discovery playlists and the `discovery_gate` KV.

`rules` and `plays` are pure; `store` is the SQL state (a fold of LIBRARY's `library.discovery.*` events, so a
replay rebuilds it); `service` makes the decisions and publishes them; `projection` is `brainstream replay discoveries`.
"""
