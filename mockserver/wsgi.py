"""The mock as an importable WSGI application, for servers that start their own worker processes.

``mockserver.wsgi:app`` is built, once in each worker, from the environment variable
``SOWEBHOOK_MOCK_CONFIG``: the JSON of a :class:`MockConfig`, the same object a ``--config`` file
holds (unset: the defaults). Workers share their state only through SQLite, so give them a
``db_path``::

    export SOWEBHOOK_MOCK_CONFIG='{"db_path": "state.sqlite3"}'
    granian --interface wsgi --workers 2 mockserver.wsgi:app

``sowebhook mock --workers N`` does this for you (``mockserver.server``).
"""

from __future__ import annotations

from mockserver.app import create_app
from mockserver.config import MockConfig

__all__ = ["app"]

app = create_app(MockConfig.from_environment())
