"""The operator's tools: dead letters (`deadletters`), journeys (`trace`), live events (`tail`), and the
`brainstream` sub-commands over them (`cli`)."""
