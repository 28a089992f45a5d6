"""The model catalogue: the cached list, model cards, pricing and model names."""
