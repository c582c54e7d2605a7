"""Booking a human eMentor: slot arithmetic (schedule.py, holidays.py, places.py, pure), free times and the
bookings table (availability.py, bookings.py, blocks.py), what the citizen reads (texts.py, ics.py) and what
follows a booking (follow_up.py: reminders and a notice, through the outbox).

May import: core, config, flows (phrases, topic), delivery.
"""
