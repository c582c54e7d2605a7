"""Escalation to a person: eMentor accounts and presence, the live hand-over's rules, the eMentors' group desk
and the hand-over timeouts.

May import: core, config, flows (phrases, topic), delivery, booking.
"""
