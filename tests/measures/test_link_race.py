import threading

import pytest
from django.db import connection, connections

from ketacare.measures import actions
from ketacare.measures.actions import patient_links
from ketacare.measures.models import PatientLink, QuestionnaireResponse
from tests.measures.helpers import PHQ9_ITEM9, PHQ9_NO_RISK, make_link, token_of


def test_a_second_submit_raises_gone_and_saves_nothing(coordinator, patient):
    link, _ = make_link(coordinator, patient)
    first = actions.submit_link_response(token_of(link), PHQ9_NO_RISK, "127.0.0.1")
    with pytest.raises(actions.LinkError) as problem:
        actions.submit_link_response(token_of(link), PHQ9_ITEM9, "127.0.0.1")
    assert problem.value.status == 410
    assert QuestionnaireResponse.objects.get() == first
    assert first.total == 8


def test_the_locked_recheck_stops_a_submit_that_read_the_link_before_it_was_used(
    coordinator, patient, monkeypatch
):
    # Simulates the race: the second submit read the link while it was still unused.
    link, _ = make_link(coordinator, patient)
    stale = PatientLink.objects.get(pk=link.pk)
    actions.submit_link_response(token_of(link), PHQ9_NO_RISK, "127.0.0.1")
    monkeypatch.setattr(patient_links, "open_link", lambda token, now: stale)
    with pytest.raises(actions.LinkError) as problem:
        actions.submit_link_response(token_of(link), PHQ9_ITEM9, "127.0.0.1")
    assert problem.value.status == 410
    assert QuestionnaireResponse.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_submits_save_one_response(coordinator, patient, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("needs row locks that block (PostgreSQL)")
    link, _ = make_link(coordinator, patient)
    token = token_of(link)
    both_opened = threading.Barrier(2, timeout=10)
    real_open = patient_links.open_link

    def open_then_wait(token, now):
        opened = real_open(token, now)
        both_opened.wait()  # both submits have seen an unused link before either locks it
        return opened

    monkeypatch.setattr(patient_links, "open_link", open_then_wait)
    outcomes = []

    def submit(answers):
        try:
            outcomes.append(actions.submit_link_response(token, answers, "127.0.0.1"))
        except actions.LinkError as problem:
            outcomes.append(problem)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(a,)) for a in (PHQ9_NO_RISK, PHQ9_ITEM9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    saved = [o for o in outcomes if isinstance(o, QuestionnaireResponse)]
    refused = [o for o in outcomes if isinstance(o, actions.LinkError)]
    assert len(saved) == 1
    assert [p.status for p in refused] == [410]
    assert QuestionnaireResponse.objects.count() == 1
