"""Telegram, through python-telegram-bot: the citizens' chats (channel.py), the eMentors' group (group.py),
the webhook on our aiohttp app (webhook.py), polling (polling.py), and pushing the outbox (sender.py)."""
