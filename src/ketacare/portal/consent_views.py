"""The portal's consent pages: the documents with where the patient stands, and one
document to read in full and sign."""

from django.http import Http404, HttpResponse
from django.shortcuts import redirect

from ketacare.portal import consent_documents
from ketacare.portal.access import PortalRequest, portal_requires
from ketacare.portal.consent_actions import sign_consent
from ketacare.portal.pages import patient_page
from ketacare.refusals import ActionRefused


@portal_requires("portal.consents")
def consent_list(request: PortalRequest) -> HttpResponse:
    return patient_page(
        request, "consents.html", statuses=consent_documents.statuses(request.patient)
    )


@portal_requires("portal.consents")
def consent_sign(request: PortalRequest, kind: str) -> HttpResponse:
    status = next(
        (s for s in consent_documents.statuses(request.patient) if s.document.kind == kind),
        None,
    )
    if status is None:
        raise Http404("No such consent")
    problem, typed_name = "", ""
    if request.method == "POST":
        typed_name = request.POST.get("typed_name", "")[:500]
        try:
            sign_consent(
                request.actor,
                request.patient,
                kind,
                request.POST.get("version", ""),
                request.POST.get("sha256", ""),
                request.POST.get("language", ""),
                typed_name,
                agreed=request.POST.get("agree") == "yes",
            )
        except ActionRefused as refused:
            problem = str(refused)
        else:
            return redirect("portal-consents")
    return patient_page(
        request,
        "consent.html",
        status=409 if problem else 200,
        current=status,
        problem=problem,
        typed_name=typed_name,
    )
