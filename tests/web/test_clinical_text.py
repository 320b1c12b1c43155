"""Staff read clinical language: identifiers as words, instruments by their names, sources as
citations linked to the clinical reference page, which every signed-in staff member may read."""

import pytest
from django.urls import reverse

from ketacare.web.templatetags.clinical_text import citation, instrument, words
from tests.conftest import client_for


def test_identifiers_become_words():
    assert words("moderately_severe") == "Moderately severe"
    assert words("mild") == "Mild"
    assert words("Already words") == "Already words"
    assert words(None) == ""


def test_instruments_by_their_short_names():
    assert instrument("phq9") == "PHQ-9"
    assert instrument("qids_sr16") == "QIDS-SR16"
    assert instrument("unknown") == "unknown"


def test_a_source_becomes_a_linked_citation_with_its_confidence():
    html = citation(
        "clinic policy default [unverified]: 'caution > 140/90' (clinical-reference §3)"
    )
    assert '<a class="citation" href="/reference/#section-3">clinical reference §3</a>' in html
    assert '<span class="confidence confidence-unverified">unverified</span>' in html
    assert "&#x27;caution &gt; 140/90&#x27;" in html  # the rest is escaped
    assert "clinical-reference" not in html and "[unverified]" not in html
    label = citation("Spravato REMS [confirmed, label] (clinical-reference §2, §7)")
    assert "confirmed, label</span>" in label and "#section-2" in label


def test_markup_in_a_source_is_escaped():
    assert "<script>" not in citation("<script>alert(1)</script> (clinical-reference §1)")


@pytest.mark.parametrize(
    "role", ["prescriber", "nurse", "coordinator", "clinic_admin", "researcher"]
)
def test_every_role_reads_the_reference_with_its_sections_anchored(role, staff):
    response = client_for(staff[role]).get(reverse("clinical-reference"))
    html = response.content.decode()
    assert response.status_code == 200
    for section in range(1, 8):
        assert f'id="section-{section}"' in html
    assert "<table>" in html and "Spravato" in html


def test_the_reference_needs_a_sign_in(client):
    response = client.get(reverse("clinical-reference"))
    assert response.status_code == 302 and "/login/" in response["Location"]
