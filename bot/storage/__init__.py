"""Storage: the schema (tables.py, Alembic migrations), and `Store`, the one gateway implementing the core's
`ConversationStore` and `PayloadTable` on SQLite or PostgreSQL (turn_paths.py, tx.py).

May import: core, config.
"""
