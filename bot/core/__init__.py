"""The core: what a turn is made of and what it needs, as plain types and small interfaces.

Holds messages and button payloads, the dialogue state and turn types, the bilingual text type, the clock and
the Copenhagen time zone, dates in words, the status vocabulary, and the interfaces (ports.py) that storage,
the NLU and the outbox implement, with in-memory ones for tests (memory.py).
May import: nothing of the project (it is the ground floor).
"""
