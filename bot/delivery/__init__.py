"""Messages the bot sends on its own, from the database: the outbox (written in the transaction that causes
a message), notices for the eMentors, the delivery worker and the sender protocol channels implement.

May import: core, config.
"""
