"""The patient's own record in the portal: their scores over time, and a download of their
record as the FHIR export staff make (``measures.actions.export_fhir``, audited)."""

from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_POST

from ketacare.measures.actions import export_fhir
from ketacare.measures.summary import patient_summary
from ketacare.portal.access import PortalRequest, portal_requires
from ketacare.portal.pages import patient_page


@portal_requires("portal.record")
def scores(request: PortalRequest) -> HttpResponse:
    summary = patient_summary(request.patient)
    return patient_page(request, "scores.html", series=summary.series)


# A POST, so that a link preview or a prefetch never makes an (audited) export.
@require_POST
@portal_requires("portal.record")
def download(request: PortalRequest) -> HttpResponse:
    bundle = export_fhir(request.actor, request.patient)
    response = JsonResponse(bundle, content_type="application/fhir+json")
    response["Content-Disposition"] = 'attachment; filename="my-record.fhir.json"'
    return response
