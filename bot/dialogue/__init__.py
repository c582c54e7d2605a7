"""The dialogue: one citizen turn end to end (dispatcher.py). The handlers, the NLU and the store are handed in
by the composition root (bot/runtime.py) through the core's interfaces.

May import: core, flows, nlu (language scores only).
"""
