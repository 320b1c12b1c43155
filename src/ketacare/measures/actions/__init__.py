"""Every change to measures, by topic: responses (``responses``), the safety alerts they
raise (``safety``), links to a questionnaire (``patient_links``) and assigned instruments
(``assignments``). One transaction each, with its audit event; each action's writing is a
``write_<step>`` builder the synthetic clinic's bulk path calls too (``ketacare.writes``).

The names below are the app's actions, as the views, the dispatch and the other apps call
them (``measures.actions.create_link``); a test that replaces one a module calls replaces it
in that module."""

from ketacare.measures.actions.assignments import (
    assign_instrument,
    end_assignment,
    preferred_channel,
    send_due,
)
from ketacare.measures.actions.patient_links import (
    LinkError,
    create_link,
    open_link,
    patient_can_answer,
    send_reminder,
    submit_link_response,
    write_answer_link,
    write_link,
    write_reminded,
)
from ketacare.measures.actions.responses import (
    export_fhir,
    must_ask_sex,
    record_staff_response,
    sex_for_scoring,
    write_response,
)
from ketacare.measures.actions.safety import (
    AlreadyAcknowledged,
    acknowledge_alert,
    tell_alerts,
    write_acknowledge,
)

__all__ = [
    "AlreadyAcknowledged",
    "LinkError",
    "acknowledge_alert",
    "assign_instrument",
    "create_link",
    "end_assignment",
    "export_fhir",
    "must_ask_sex",
    "open_link",
    "patient_can_answer",
    "preferred_channel",
    "record_staff_response",
    "send_due",
    "send_reminder",
    "sex_for_scoring",
    "submit_link_response",
    "tell_alerts",
    "write_acknowledge",
    "write_answer_link",
    "write_link",
    "write_reminded",
    "write_response",
]
