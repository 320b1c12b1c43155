"""Staff pages of referrals: this slice has one, recording the warm hand-off of an alert shown
on the alerts dashboard. The intake queue comes with the next slice."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.measures.forms import AcknowledgeForm
from ketacare.referrals import actions
from ketacare.referrals.models import ReferralAlert


@requires("alert.acknowledge")
def record_handoff(request: KetacareRequest, referral_alert_id: int) -> HttpResponse:
    # Another clinic's alert is "not found", whatever the method: an id reveals nothing.
    get_object_or_404(ReferralAlert, pk=referral_alert_id, clinic=request.actor.clinic)
    if request.method == "POST":
        form = AcknowledgeForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Write what was done before closing the alert.")
        else:
            try:
                actions.record_handoff(request.actor, referral_alert_id, form.cleaned_data["note"])
            except actions.ReferralError as error:
                messages.error(request, str(error))
            else:
                messages.success(request, "Hand-off recorded; the alert is closed.")
    return redirect("alert-dashboard")
