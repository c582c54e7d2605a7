"""Messages the bot sends on its own, from the database: the outbox, its worker and the channel senders."""
