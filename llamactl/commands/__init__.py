"""One module per command group; each parses flags, calls the core and hands results to output."""
