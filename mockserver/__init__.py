"""A faithful, stateful Flask mock of SuperOffice's Webhook agent.

>>> from mockserver import create_app, MockConfig
>>> app = create_app(MockConfig(profile="onsite"))
>>> client = app.test_client()
"""

from mockserver.app import create_app
from mockserver.config import Application, Associate, Limits, MockConfig, User
from mockserver.state import MockState, state_of

__all__ = ["Application", "Associate", "Limits", "MockConfig", "MockState", "User", "create_app", "state_of"]
