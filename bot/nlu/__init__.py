"""The intent model: Rasa NLU YAML training data, features, the classifier, evaluation, and the backends
(built-in or a Rasa server) behind `bot.core.ports.IntentParser`.

May import: core, config, yaml_nodes.
"""
