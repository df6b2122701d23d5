"""Pure rules of acquisition: text matching, ranking, validation verdicts, the gate's state, the tag plan."""
