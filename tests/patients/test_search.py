from datetime import date

import pytest
from django.urls import reverse

from ketacare.patients.models import Patient
from ketacare.patients.search import normalize_name, prefix_upper_bound
from tests.conftest import make_patient


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Ñúñez-O'Brien", "nunezobrien"),
        ("  de la Cruz ", "delacruz"),
        ("Zoë", "zoe"),
        ("Søren", "soren"),
        ("Łukasz", "lukasz"),
        ("Strauß", "strauss"),
        ("Đorđević", "dordevic"),
        ("Işık", "isik"),
        ("Иванова", "иванова"),
        ("李", "李"),
        ("-'", ""),
    ],
)
def test_normalize_name(name, key):
    assert normalize_name(name) == key


@pytest.mark.parametrize(
    ("prefix", "upper"),
    [("smi", "smj"), ("smz", "sn"), ("a9", "aa"), ("zz", None), ("", None), ("ив", "иг")],
)
def test_prefix_upper_bound(prefix, upper):
    assert prefix_upper_bound(prefix) == upper


@pytest.fixture
def people(clinic, nurse):
    return {
        "smith": make_patient(nurse, clinic, given_name="John", family_name="Smith"),
        "smithers": make_patient(nurse, clinic, given_name="Waylon", family_name="Smithers"),
        "nunez": make_patient(
            nurse, clinic, given_name="José", family_name="Núñez", date_of_birth=date(1990, 2, 3)
        ),
        "jones": make_patient(nurse, clinic, given_name="Smita", family_name="Jones"),
        "smz": make_patient(nurse, clinic, given_name="Al", family_name="Smz"),
    }


def found(client, query):
    response = client.get(reverse("patient-list"), {"q": query})
    assert response.status_code == 200
    return {p.family_name for p in response.context["page"]}


def test_search_by_name_prefix_matches_family_or_given(as_user, nurse, people):
    client = as_user(nurse)
    assert found(client, "smi") == {"Smith", "Smithers", "Jones"}
    assert found(client, "SMITH") == {"Smith", "Smithers"}
    assert found(client, "smith jo") == {"Smith"}
    assert found(client, "nunez") == {"Núñez"}
    assert found(client, "Núñ") == {"Núñez"}
    assert found(client, "smz") == {"Smz"}
    assert found(client, "xyz") == set()


def test_search_by_mrn_and_date_of_birth(as_user, nurse, people):
    client = as_user(nurse)
    assert found(client, people["jones"].mrn) == {"Jones"}
    assert found(client, people["jones"].mrn[:7]) == {"Jones"}
    assert found(client, "1990-02-03") == {"Núñez"}
    assert found(client, "02/03/1990") == {"Núñez"}
    assert found(client, "1990") == {"Núñez"}  # a birth year
    assert found(client, "1990 jo") == {"Núñez"}
    assert found(client, "1985 smith") == {"Smith", "Smithers"}


def test_names_in_other_scripts_and_unsearchable_text(as_user, nurse, clinic, people):
    make_patient(nurse, clinic, given_name="Анна", family_name="Иванова")
    client = as_user(nurse)
    assert found(client, "иван") == {"Иванова"}
    assert found(client, "Ива") == {"Иванова"}
    # Punctuation alone matches no one; it must not list everyone.
    assert found(client, "-'") == set()
    assert found(client, "smith -") == set()


def test_search_is_audited_with_its_query(as_user, nurse, people):
    from ketacare.audit.models import AuditEvent

    as_user(nurse).get(reverse("patient-list"), {"q": "smi"})
    assert AuditEvent.objects.filter(action="search", changes={"query": "smi"}).count() == 1


def test_htmx_search_returns_only_the_results_fragment(as_user, nurse, people):
    response = as_user(nurse).get(reverse("patient-list"), {"q": "smi"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert "Smithers" in body


def test_list_is_paginated_and_ordered_by_name(as_user, nurse, clinic):
    for i in range(30):
        make_patient(nurse, clinic, family_name=f"Name{i:02d}", weight_kg=None, height_cm=None)
    client = as_user(nurse)
    first = client.get(reverse("patient-list")).context["page"]
    assert [p.family_name for p in first][:3] == ["Name00", "Name01", "Name02"]
    assert len(first) == 25
    second = client.get(reverse("patient-list"), {"page": 2}).context["page"]
    assert len(second) == 5
    assert Patient.objects.count() == 30


def test_list_and_search_query_counts_do_not_grow_with_patients(
    as_user, nurse, clinic, django_assert_max_num_queries
):
    client = as_user(nurse)
    client.get(reverse("patient-list"))  # session warm-up
    for n in (3, 40):
        while (count := Patient.objects.count()) < n:
            make_patient(
                nurse,
                clinic,
                given_name=f"Ada{count}",
                family_name="Smith",
                weight_kg=None,
                height_cm=None,
            )
        with django_assert_max_num_queries(12):
            client.get(reverse("patient-list"))
        with django_assert_max_num_queries(16):
            client.get(reverse("patient-list"), {"q": "smi"})


def test_patient_matching_on_both_names_is_listed_once(as_user, nurse, clinic):
    make_patient(nurse, clinic, given_name="Smitty", family_name="Smith")
    response = as_user(nurse).get(reverse("patient-list"), {"q": "smi"})
    assert len(response.context["page"]) == 1
    assert response.context["page"].paginator.count == 1


def test_control_characters_in_a_search_are_ignored(as_user, nurse, people):
    assert found(as_user(nurse), "smi\x00th") == {"Smith", "Smithers"}
