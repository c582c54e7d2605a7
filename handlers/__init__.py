"""Intent and escalation handlers, one module per family of intents, registered explicitly here.

Empty until the conversation engine lands (the guided-flows issue)."""
