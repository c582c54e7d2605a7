"""Booking a human eMentor: pure slot arithmetic first (schedule.py, holidays.py); services come next."""
