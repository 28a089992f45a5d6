"""llamactl: a command-line client for DeepInfra's hosted LLM inference API.

Nothing is imported here on purpose: `llamactl --version` must not pay for Typer,
Rich or requests.
"""

__version__ = "0.1.0"
