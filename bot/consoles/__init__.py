"""The eMentor and admin consoles: logins, sessions and roles, and the server-rendered pages.

May import: core, config, flows, delivery, booking, escalation.
"""
