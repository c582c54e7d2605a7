"""Escalation to a person: notices to the eMentors, live hand-over, eMentor accounts."""
