"""ementor-bot: a help bot for job centres' digital workshops."""

__version__ = "0.1.0"
