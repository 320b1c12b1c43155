"""The provider referral: the NPI check, the letter (kind by content, size, storage outside
the web root, staff-only download) and the front door's abuse rules."""

from io import BytesIO
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from ketacare.audit.models import AuditEvent
from ketacare.referrals import provider
from ketacare.referrals.actions import ReferralError, public_actor
from ketacare.referrals.letters import LetterError, identify
from ketacare.referrals.models import Referral, SubmissionAttempt
from ketacare.referrals.npi import is_valid_npi, luhn_check_digit
from tests.conftest import client_for

NPI = "1234567893"  # the worked example in the CMS check-digit paper
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64
FORM = {
    "referrer_name": "Dr Ada Lovelace",
    "referrer_practice": "Analytical Family Practice",
    "referrer_npi": NPI,
    "referrer_phone": "+1 555 010 9000",
    "referrer_email": "ada@practice.example",
    "given_name": "Grace",
    "family_name": "Hopper",
    "date_of_birth": "1980-12-09",
    "phone": "+1 555 010 2030",
    "email": "",
    "reason": "Treatment-resistant depression after two SSRIs.",
    "current_treatment": "Sertraline 100 mg",
    "consent_to_contact": "on",
}


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


def png_bytes() -> bytes:
    out = BytesIO()
    Image.new("RGB", (4, 4), "white").save(out, "PNG")
    return out.getvalue()


def url(clinic):
    return reverse("referral-provider", args=[clinic.pk])


def send(client, clinic, letter=None, **changes):
    data = {**FORM, **changes}
    if letter is not None:
        data["letter"] = letter
    return client.post(url(clinic), data)


def stored_letters(data_dir: Path) -> list[Path]:
    folder = data_dir / "referral-letters"
    return list(folder.iterdir()) if folder.exists() else []


# The NPI check digit -----------------------------------------------------------------------


def test_the_npi_check_digit_is_luhn_over_80840_and_the_first_nine():
    assert luhn_check_digit("80840123456789") == 3
    assert is_valid_npi(NPI)
    assert not is_valid_npi("1234567890")  # wrong check digit
    assert not is_valid_npi("123456789")  # too short
    assert not is_valid_npi("12345678933")  # too long
    assert not is_valid_npi("12345678a3")
    assert not is_valid_npi("１２３４５６７８９３")  # full-width digits are not ASCII


# The letter's kind, by its bytes -----------------------------------------------------------


def test_a_letter_is_known_by_its_bytes_not_its_name():
    assert identify(PDF_BYTES, 1000).content_type == "application/pdf"
    assert identify(png_bytes(), 10_000).content_type == "image/png"
    for bad in (
        EXE_BYTES,
        b"<html><script>alert(1)</script></html>",
        b"PK\x03\x04zip",
        b"GIF89a" + b"\x00" * 20,
        b"junk before %PDF-1.4\n%%EOF",  # a polyglot: the header must open the file
        b"%PDF-1.4 truncated, no end marker",
        b"\x89PNG\r\n\x1a\nnot really a png",
        b"",
    ):
        with pytest.raises(LetterError):
            identify(bad, 10_000)
    with pytest.raises(LetterError, match="too large"):
        identify(PDF_BYTES, len(PDF_BYTES) - 1)


# The happy path ----------------------------------------------------------------------------


def test_a_provider_referral_with_a_letter_reaches_staff_and_only_staff(
    client, clinic, coordinator, outsider, data_dir
):
    page = send(client, clinic, SimpleUploadedFile("letter.pdf", PDF_BYTES, "application/pdf"))
    assert "Thank you" in page.content.decode()
    referral = Referral.objects.get()
    assert referral.source == Referral.Source.PROVIDER
    assert (referral.referrer_name, referral.referrer_npi) == ("Dr Ada Lovelace", NPI)
    assert referral.risk == "not_screened" and referral.screener_answers == []
    assert referral.letter_type == "application/pdf"
    # Stored under the data directory by a random name, outside the web root (static files).
    (path,) = stored_letters(data_dir)
    assert path.name == referral.letter_file and "letter" not in path.name
    assert path.read_bytes() == PDF_BYTES
    assert not path.is_relative_to(Path(django_settings.STATIC_ROOT))
    assert oct(path.stat().st_mode & 0o777) == "0o600"

    staff = client_for(coordinator)
    detail = staff.get(reverse("referral-detail", args=[referral.pk])).content.decode()
    letter_url = reverse("referral-letter", args=[referral.pk])
    assert letter_url in detail and "Analytical Family Practice" in detail
    queue = staff.get(reverse("intake-queue")).content.decode()
    assert "Dr Ada Lovelace" in queue

    download = staff.get(letter_url)
    assert download.status_code == 200
    assert download.content == PDF_BYTES
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(
        action="view", object_id=str(referral.pk), changes__letter="application/pdf"
    ).exists()

    assert client_for(outsider).get(letter_url).status_code == 404
    public = client.get(letter_url)
    assert public.status_code == 302 and public["Location"].startswith(reverse("login"))


def test_a_referral_without_a_letter_has_no_download(client, clinic, coordinator, data_dir):
    send(client, clinic, referrer_npi="1234-567-893")
    referral = Referral.objects.get()
    assert referral.letter_file == "" and referral.referrer_npi == NPI
    response = client_for(coordinator).get(reverse("referral-letter", args=[referral.pk]))
    assert response.status_code == 302
    assert stored_letters(data_dir) == []


def test_an_image_letter_is_taken(client, clinic):
    send(client, clinic, SimpleUploadedFile("scan.png", png_bytes(), "image/png"))
    assert Referral.objects.get().letter_type == "image/png"


# Refusals: a clear message, nothing written ------------------------------------------------


def _refused(page, data_dir, words):
    assert page.status_code == 200
    assert words in page.content.decode()
    assert not Referral.objects.exists() and not SubmissionAttempt.objects.exists()
    assert stored_letters(data_dir) == []


def test_an_oversized_letter_is_refused(client, clinic, data_dir):
    # A well-formed PDF one byte over the limit (10 MB, from the data file).
    padding = provider.max_letter_bytes() + 1 - len(PDF_BYTES)
    big = PDF_BYTES[:-6] + b" " * padding + b"%%EOF\n"
    assert len(big) == provider.max_letter_bytes() + 1
    page = send(client, clinic, SimpleUploadedFile("letter.pdf", big, "application/pdf"))
    _refused(page, data_dir, "too large")


def test_the_size_limit_is_ten_megabytes_of_data():
    assert provider.max_letter_bytes() == 10 * 1024 * 1024


def test_a_program_named_pdf_is_refused(client, clinic, data_dir):
    page = send(client, clinic, SimpleUploadedFile("letter.pdf", EXE_BYTES, "application/pdf"))
    _refused(page, data_dir, "must be a PDF, PNG or JPEG")


def test_html_named_png_is_refused(client, clinic, data_dir):
    html = b"<!doctype html><script>alert(document.cookie)</script>"
    page = send(client, clinic, SimpleUploadedFile("letter.png", html, "image/png"))
    _refused(page, data_dir, "must be a PDF, PNG or JPEG")


def test_a_bad_npi_is_refused(client, clinic, data_dir):
    page = send(client, clinic, referrer_npi="1234567890")
    _refused(page, data_dir, "not a valid NPI")


def test_a_failed_write_leaves_no_letter_behind(clinic, data_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise ReferralError("database down")

    monkeypatch.setattr(provider, "take_slot", broken)
    details = {
        "referrer_name": "Dr A",
        "referrer_npi": NPI,
        "given_name": "G",
        "phone": "+1 555 010 2030",
        "consent_to_contact": True,
    }
    with pytest.raises(ReferralError):
        provider.submit_provider_referral(
            public_actor(clinic, "127.0.0.1"), clinic, details, PDF_BYTES
        )
    assert stored_letters(data_dir) == [] and not Referral.objects.exists()


# The front door's rules --------------------------------------------------------------------


def test_the_page_has_the_crisis_lines_and_the_not_monitored_banner(client, clinic):
    page = client.get(url(clinic)).content.decode()
    assert "988" in page and "not monitored" in page
    assert 'enctype="multipart/form-data"' in page


def test_a_filled_honeypot_pretends_success_and_writes_nothing(client, clinic, data_dir):
    letter = SimpleUploadedFile("letter.pdf", PDF_BYTES, "application/pdf")
    page = send(client, clinic, letter, website="http://spam.example")
    assert "Thank you" in page.content.decode()
    assert not Referral.objects.exists() and stored_letters(data_dir) == []


def test_the_rate_limit_is_the_front_doors(client, clinic):
    for _ in range(5):
        assert "Thank you" in send(client, clinic).content.decode()
    limited = send(client, clinic)
    assert limited.status_code == 429 and "988" in limited.content.decode()
    assert Referral.objects.count() == 5


def test_nothing_sent_is_shown_back(client, clinic):
    page = send(client, clinic).content.decode()
    for typed in ("Grace", "Hopper", "Lovelace", "Analytical", NPI, "Sertraline"):
        assert typed not in page
