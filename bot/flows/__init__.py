"""Guided answer flows: the flow and phrase files as data (model.py, loader.py, ui.py, phrases.py), their
checker (check.py, readability.py), the pure dialogue engine (engine.py) and what a citizen needs help with
for an eMentor (topic.py).

May import: core, yaml_nodes, nlu (normalisation only).
"""
