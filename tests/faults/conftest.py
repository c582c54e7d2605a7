"""Fixtures shared with the channel tests: the web chat's browser (Debian's chromium, the app, a phone tab)
and rasa-webchat's socket.io client."""

from tests.browser import browser_fixture  # noqa: F401
from tests.channels.test_socketio import clients, url, webchat  # noqa: F401
from tests.channels.test_webchat import app_server, page  # noqa: F401
