"""What test modules and the scripts in ``stress/`` and ``bench/`` share; no tests here.

No test module imports another, nor ``conftest``: each imports what it shares from the module of
this package that does that job (``from harness.clients import HttpClient``):

- ``clients``: the agent's path and credentials (``AGENT``, ``AUTH``, ``JSON``), ``HttpClient``,
  ``in_threads``
- ``wire``: openapi-core's view of an exchange (``wire_request``, ``wire_response``)
- ``process``: ``sowebhook mock`` as a process (``start_mock``, ``MockProcess``, ``Sample``)
- ``store``: the mock's SQLite file read directly (``sqlite_webhooks``, ``integrity``,
  ``highest_id_ever``, ``by_id``) and its audit trigger (``install_audit``, ``audit_log``)
- ``oracle``: what the mock acknowledged to concurrent clients (``owner_mix``/``owner_problems``,
  ``contend``/``contention_problems``)
- ``loadmix``: the CI mix of the load checks (``ci_mix``, ``Tally``)
- ``crash``: ``write_until_killed``, ``crash_problems``, ``stale_files``
- ``hostile``: hostile bodies and the state a request could change (``hostile_app``, ``snapshot``,
  ``error_shape_problems``, ``no_traceback``, ``LAUGHS``, ``nested_json``, ``nested_xml``, ``BRIDGE``)
- ``arbitrary``: arbitrary requests for the fuzzers (``requests``)
- ``versions``: servers of another version, for ``verify`` and the checks (``mock_app``,
  ``webhooks_changed``, ``newer``, ``events_of_wrong_type``, ``FUTURE``)
- ``receivers``: hostile webhook receivers over TLS (``RawReceiver`` and its behaviours)
- ``probes``: TestWebhook probes of an in-process mock's outbound client (``probe``,
  ``timed_probe``, ``measured_probe``), its threads (``mock_threads``), an injected ``Resolver``

``tests/`` is on ``sys.path`` through pytest's rootdir conftest (as for ``docpages``);
``stress/_paths.py`` and ``bench/_paths.py`` put it there for the scripts.
"""

from __future__ import annotations
