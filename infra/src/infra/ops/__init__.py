"""The operator's tools: dead letters (`deadletters`), journeys (`trace`), live events (`tail`), rebuilt read models
(`replay`), and the `brainstream` sub-commands over them (`cli`, `replay_cli`)."""
