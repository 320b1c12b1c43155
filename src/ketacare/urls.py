from django.urls import include, path

from ketacare.accounts import views as accounts
from ketacare.web import audit_views as audit
from ketacare.web import views as web

urlpatterns = [
    path("", accounts.home, name="home"),
    path("login/", accounts.login, name="login"),
    path("logout/", accounts.logout, name="logout"),
    path("login/verify/", accounts.otp_verify, name="otp-verify"),
    path("account/two-factor/", accounts.otp_setup, name="otp-setup"),
    path("account/password/", accounts.password_change, name="password-change"),
    path("account/clinic/", accounts.switch_clinic, name="switch-clinic"),
    path("staff/", accounts.staff_list, name="staff-list"),
    path("staff/new/", accounts.staff_new, name="staff-new"),
    path("staff/<int:membership_id>/", accounts.staff_edit, name="staff-edit"),
    path(
        "staff/<int:membership_id>/deactivate/", accounts.staff_deactivate, name="staff-deactivate"
    ),
    path(
        "staff/<int:membership_id>/reactivate/", accounts.staff_reactivate, name="staff-reactivate"
    ),
    path("staff/<int:membership_id>/unlock/", accounts.staff_unlock, name="staff-unlock"),
    path("clinic/", accounts.clinic_settings, name="clinic-settings"),
    path("audit/", audit.audit_log, name="audit-log"),
    path("patients/", include("ketacare.patients.urls")),
    path("", include("ketacare.measures.urls")),
    path("", include("ketacare.planning.urls")),
    path("", include("ketacare.inventory.urls")),
    path("inventory/reports/", include("ketacare.inventory.report_urls")),
    path("rems/", include("ketacare.treatments.rems_urls")),
    path("", include("ketacare.treatments.urls")),
    path("", include("ketacare.scheduling.urls")),
    path("", include("ketacare.reminders.urls")),
    path("", include("ketacare.referrals.urls")),
    path("", include("ketacare.portal.urls")),
    path("registry/export/", include("ketacare.registry.export_urls")),
    path("", include("ketacare.registry.urls")),
    path("", include("ketacare.jobs.urls")),
    path("", include("ketacare.api.urls")),
    path("reference/", web.clinical_reference, name="clinical-reference"),
    path("healthz", web.healthz, name="healthz"),
]
