"""Tools for developers and the demo, not for a clinic: today the synthetic clinic
(``ketacare.dev.synth``), which makes patients, sessions, questionnaires and stock for the demo's
registry clinic, the registry's development and benchmarks and the recovery tests.

Nothing here is imported by the running web app. Only commands import it — ``ketacare synth``
and the demo's registry clinic (``web/demo_registry.py``, run by ``ketacare demo``) — and they
must stay the only ones: this code patches the clock and writes rows in bulk, which a clinic's
server must never do."""
