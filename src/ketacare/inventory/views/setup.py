"""Setting up a clinic's ledger: its DEA registration, the registration's storage locations
and the product list, one form each on one page."""

from django.http import HttpResponse
from django.shortcuts import redirect, render

from ketacare.accounts.access import KetacareRequest, requires
from ketacare.inventory import actions, queries
from ketacare.inventory.forms import LocationForm, ProductForm, RegistrationForm
from ketacare.inventory.views.shared import registration_of
from ketacare.web.submit import submitted


@requires("inventory.setup")
def setup(request: KetacareRequest) -> HttpResponse:
    """The registration, its storage locations and the product list, one form each; the
    submit button's name says which form was sent."""
    registration = registration_of(request)
    posted = request.POST if request.method == "POST" else None
    which = next((k for k in ("registration", "location", "product") if posted and k in posted), "")
    forms = {
        "registration": RegistrationForm(
            posted if which == "registration" else None, prefix="registration"
        ),
        "location": LocationForm(posted if which == "location" else None, prefix="location"),
        "product": ProductForm(posted if which == "product" else None, prefix="product"),
    }
    done = False
    if which == "registration":
        done, _ = submitted(
            request,
            forms["registration"],
            lambda data: actions.create_registration(
                request.actor, data["dea_number"], data["name"], data["address"]
            ),
            lambda created: f"Registration {created} created. Add its storage locations.",
        )
    elif which == "location" and registration is not None:
        done, _ = submitted(
            request,
            forms["location"],
            lambda data: actions.add_location(
                request.actor, registration.pk, data["name"], data["kind"]
            ),
            lambda location: f"Location {location.name} added.",
        )
    elif which == "product":
        done, _ = submitted(
            request,
            forms["product"],
            lambda data: actions.add_product(request.actor, **data),
            lambda product: f"Product {product.name} (NDC {product.ndc}) added.",
        )
    if done:
        return redirect(request.get_full_path())
    return render(
        request,
        "inventory/setup.html",
        {
            "registration": registration,
            "locations": queries.locations(registration) if registration else [],
            "products": queries.products(),
            "forms": forms,
        },
    )
