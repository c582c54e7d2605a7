"""The dialogue: one citizen turn end to end (dispatcher.py). Imports the core and the flow engine; the
handlers, the NLU and the store are handed in by the composition root (bot/runtime.py)."""
