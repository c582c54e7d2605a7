"""Personal data over time: retention (what is deleted or anonymised after the days in config.yml) and
erasure (a citizen's own "slet mine data", an admin's export or deletion on request).

May import: core, config, flows, delivery, booking, escalation.
"""
