"""One inference: flags and input in, a checked request, the run, the outcome."""
