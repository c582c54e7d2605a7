"""Channels: each translates its wire format to and from `bot.core.messages`, receiving and sending.

REST, socket.io (rasa-webchat), Telegram (a package: citizens, the eMentors' group, webhook, polling, push),
the terminal. A channel talks to a `Replier` and reads a `Mailbox`; it never touches storage or the NLU.
May import: core, config, delivery (the sender protocol its push half implements).
"""
