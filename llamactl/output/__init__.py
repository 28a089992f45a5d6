"""Everything written to stdout and stderr: the sink, text renderers and output views."""
