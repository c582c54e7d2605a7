"""Web pages on the aiohttp app: the citizens' chat page with its static files, the NLU try-out, calendar files.

May import: core, config, booking.
"""
