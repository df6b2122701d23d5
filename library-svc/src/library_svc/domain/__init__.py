"""Pure rules of the library: safe paths, identifiers, search text. No I/O, no environment."""
