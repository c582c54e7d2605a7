"""JSON APIs on the aiohttp app: Rasa's `/model/parse` and the eMentors' API.

May import: core, config, nlu (model_parse), booking, escalation, delivery.
"""
