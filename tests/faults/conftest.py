"""The web chat's browser fixtures (Debian's chromium, the app, a phone tab), shared with the channel tests."""

from tests.channels.test_webchat import app_server, browser, page  # noqa: F401
