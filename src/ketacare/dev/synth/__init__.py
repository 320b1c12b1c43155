"""The synthetic clinic: a whole program — referrals, screening, evaluations, signed plans,
dosing days, questionnaires, stock — for the registry to be developed and measured against.

Every step is one of the app's actions, run by staff who act at the simulated clock
(``Actor.clock``, docs/decisions/0107), and all patients'
steps are interleaved in time order, so the audit chain and the ledger read like a clinic's:
each course is a generator that yields the time of its next step, and a queue resumes them
in time order.

Two ways of writing the same steps:

- ``bulk=False`` (the reference): each step calls the action (``patients``, ``measures``,
  ``planning``, ``treatments``, ``inventory``), with its checks, transaction and audit event.
  A few patients a second (``bench/synth_throughput.py``).
- ``bulk=True``: each step calls the action's own builder (``write_<step>``, which writes
  through ``ketacare.writes``) with a writer that appends the rows to batches — the audit and
  ledger hash chains computed in order, the ids the database would give — written with
  ``executemany`` by a forked writer process while the simulation goes on (``writer``); the
  steps not yet converted to builders still write their rows by hand (``bulk/``). The clinical
  judgements are the same functions the actions call (eligibility verdicts, dose orders,
  schedules, the pre-dose gate, monitoring alerts, scoring, safety signals, the session note,
  digests). The bulk path does not re-check what the simulator guarantees (a valid step in a
  valid state). ``tests/registry/test_synth.py`` runs both on the same seed and compares every
  table row for row, hashes included. About 20 times faster; run it on a database nobody else
  writes to meanwhile (it takes the next ids itself).

The outcomes are parameters (``SynthParams``): the true response, remission and relapse rates,
severe hypertension, adverse events, dropouts, missed questionnaires. A registry report on
the result should recover them; the tests check that it does.

Deterministic for a seed on a given day: every draw comes from ``random.Random`` instances
seeded from ``SynthParams.seed`` (one per patient, so a patient's story does not depend on who
else is in the clinic), never from the global generator. The program ends at midnight
starting ``end`` (default today, local time); later planned sessions stay on the schedule.
What is realistic and what is simplified: ``bench/README.md`` (``synth_throughput.py``).

Where it lives, by what it simulates:

- ``params``: ``SynthParams``, ``SynthReport``, ``SynthError``, ``span_days``;
- ``clock``: simulated time; ``people``: fictional people and each patient's drawn story;
  ``setup``: the clinic, its staff, DEA registration and products (through the actions);
- ``course`` (referral to follow-up), built on ``session_day`` (one dosing day) and
  ``questionnaires`` (what the patient reports, in clinic and at home);
- ``stock``: the simulated cabinet, its orders and counts; ``simulation``: the event loop;
- ``ops``: one method per step, ``ActionOps`` through the actions; ``bulk``: ``BulkOps``, the
  same steps as rows, one module per app; ``sinks`` and ``writer``: where the rows go;
- ``run``: ``synthesize``.
"""

from ketacare.dev.synth.params import SynthError, SynthParams, SynthReport, span_days
from ketacare.dev.synth.run import synthesize

__all__ = ["SynthError", "SynthParams", "SynthReport", "span_days", "synthesize"]
