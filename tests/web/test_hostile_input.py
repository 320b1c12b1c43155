"""Bad input gets a message, never a server error (issue 13): every page of every URL pattern,
opened as a role allowed there, has each of its form fields (as the page renders them), each
query-string filter and each id in its path fed hostile values — numbers that overflow a float
or a decimal (``1e999999``), 40-digit ids, NaN and Infinity, dates at the ends of the calendar
and malformed ones, very long strings, NUL bytes and unicode — by GET and by POST. No answer
may be a 5xx.

One database serves the whole walk: each request runs in a savepoint that is rolled back, so a
request that did change something (a hostile value that was still acceptable) leaves the next
one the same clinic to attack.
"""

import ast
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ketacare.accounts.permissions import allowed
from ketacare.patients.models import Patient
from tests.accounts.test_permission_matrix import VIEWS, build_world, url_for
from tests.conftest import PASSWORD
from tests.inventory.conftest import DEA_NUMBER
from tests.measures.helpers import make_link
from tests.portal.conftest import signed_in_client
from tests.referrals.conftest import WORDING as SCREENER_WORDING

SRC = Path(__file__).resolve().parents[2] / "src" / "ketacare"

# The values the tester's day turned up, by the kind of field they go to: every field, filter
# and id of every page gets those of its kind; hypothesis then adds values of every kind to
# fields drawn at random (``test_no_hostile_value_gets_a_server_error``).
HUGE_NUMBERS = ["1e999999", "9" * 40]
CALENDAR_ENDS = ["0001-01-01", "9999-12-31"]
CALENDAR_END_TIMES = ["0001-01-01T00:00", "9999-12-31T23:59"]
# Too long for any field, with a NUL byte (which PostgreSQL refuses in text) and astral unicode.
LONG_TEXT = "\x00" + "x" * 100_000 + "💊"
KINDS = {
    "date": CALENDAR_ENDS,
    "datetime-local": CALENDAR_END_TIMES,
    "textarea": [LONG_TEXT],
    # A choice the form lists; a view reading it raw may take it for an id.
    "choice": ["9" * 40],
    "text": [*HUGE_NUMBERS, LONG_TEXT],
    "hidden": [*HUGE_NUMBERS, *CALENDAR_ENDS],
    # A query parameter or a raw POST value read by name: nothing says what it holds.
    "parameter": [*HUGE_NUMBERS, *CALENDAR_ENDS],
    # The ids and names in a path: those of an <int:...> are digits, or the URL is not found.
    "id": ["9" * 40],
    "name": ["x" * 300],
}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# The clinic is 14 hours ahead of UTC, where the first hours of year 1 are not a time UTC can
# hold; a date and time is also entered 11 hours behind, where the last hours of 9999 are not.
CLINIC_TIME_ZONE = "Pacific/Kiritimati"
ZONES = {"datetime-local": [CLINIC_TIME_ZONE, "Pacific/Pago_Pago"]}

# Signed in as the first of these allowed at a URL; researchers (whose pages take another,
# de-identified path) are also sent wherever they are allowed.
ROLE_PREFERENCE = ["prescriber", "clinic_admin", "nurse", "coordinator", "researcher"]

# After the known values, hypothesis draws this many examples of 10 requests each: about 200
# requests, a few seconds, on top of the 2,000 or so of the known values.
EXPLORED_EXAMPLES = 20


def hostile_values() -> st.SearchStrategy[str]:
    digits = st.integers(min_value=10**9, max_value=10**60).map(str)
    exponent = st.integers(min_value=300, max_value=10**7)
    overflowing = st.tuples(st.sampled_from(["1e", "-1e", "9.9E+", "1e-"]), exponent).map(
        lambda parts: f"{parts[0]}{parts[1]}"
    )
    floats = st.floats(allow_nan=True, allow_infinity=True).map(repr)
    specials = st.sampled_from(
        ["Infinity", "-Infinity", "inf", "nan", "sNaN", "-1", "-0", "0", "1.000000000001", "1_000"]
    )
    years = st.integers(min_value=1, max_value=9999)
    dates = st.tuples(years, st.integers(1, 12), st.integers(1, 31)).map(
        lambda d: f"{d[0]:04d}-{d[1]:02d}-{d[2]:02d}"
    )
    datetimes = st.tuples(dates, st.integers(0, 23), st.integers(0, 59)).map(
        lambda d: f"{d[0]}T{d[1]:02d}:{d[2]:02d}"
    )
    malformed = st.sampled_from(["2024-02-30", "2024-13-01", "10000-01-01", "-0001-01-01", "T"])
    strings = st.one_of(
        st.text(min_size=1, max_size=40),
        st.sampled_from(
            ["x" * 100_000, "\x00", "a\x00b", "١٢٣", "１２３", "💊" * 50, "' OR 1=1--"]
        ),
    )
    return st.one_of(digits, overflowing, floats, specials, dates, datetimes, malformed, strings)


# --- reading forms off the page ---------------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # the input's type, or "select" / "textarea"
    value: str
    options: list[str]


@dataclass
class Form:
    method: str
    action: str
    fields: list[Field]


class _Page(HTMLParser):
    """The forms of a page (their fields, with what is filled in or selected) and the query
    parameters its links use, with a value each."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.link_params: dict[str, str] = {}
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "?" in a.get("href", ""):
            self.link_params.update(parse_qsl(urlsplit(a["href"]).query))
        elif tag == "form":
            self._form = Form(a.get("method", "get").lower(), a.get("action", ""), [])
            self.forms.append(self._form)
        elif tag == "option" and self._select is not None:
            self._select.options.append(a.get("value", ""))
            if "selected" in a:
                self._select.value = a.get("value", "")
        elif self._form is None or not a.get("name"):
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "reset", "image"):
                return
            if kind in ("checkbox", "radio") and any(
                f.name == a["name"] for f in self._form.fields
            ):
                return  # one box of a group is enough
            value = a.get("value", "on" if kind in ("checkbox", "radio") else "")
            self._form.fields.append(Field(a["name"], kind, value, []))
        elif tag == "select":
            self._select = Field(a["name"], "select", "", [])
            self._form.fields.append(self._select)
        elif tag == "textarea":
            self._textarea = Field(a["name"], "textarea", "", [])
            self._form.fields.append(self._textarea)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def read_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


PARAMETER = re.compile(r"request\.(GET|POST)(?:\.get\(|\.getlist\(|\[)\s*\"(\w+)\"")


def view_modules() -> dict[str, Path]:
    """The modules that hold views, by dotted name: each ``*views.py``, and every module of a
    package of views (``inventory/views/``)."""
    modules = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if path.name.endswith("views.py") or any(p.endswith("views") for p in parts[:-1]):
            dotted = parts[:-1] if parts[-1] == "__init__" else parts
            modules[".".join(("ketacare", *dotted))] = path
    return modules


Function = tuple[str, str]  # (module, function)


def params_read_by_views() -> dict[Function, set[tuple[str, str]]]:
    """The parameters each view reads by name past any form (``request.GET.get("date")``), in
    its body or in the functions it calls, in its own module or imported from another module
    of views: (module, function) → {(method, name)}.
    """
    modules = view_modules()
    own: dict[Function, set[tuple[str, str]]] = {}
    calls: dict[Function, set[Function]] = {}
    for module, path in modules.items():
        source = path.read_text()
        tree = ast.parse(source)
        functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        # What the module's names stand for: its own functions, functions imported from
        # another module of views, and such modules imported whole (``shared.entry_of``).
        named: dict[str, Function] = {name: (module, name) for name in functions}
        imported: dict[str, str] = {}
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:
                    as_module = f"{node.module}.{alias.name}"
                    if as_module in modules:
                        imported[alias.asname or alias.name] = as_module
                    elif node.module in modules:
                        named[alias.asname or alias.name] = (node.module, alias.name)
        for name, node in functions.items():
            own[(module, name)] = {
                (method.lower(), param)
                for method, param in PARAMETER.findall(ast.get_source_segment(source, node) or "")
            }
            callees = set()
            for n in ast.walk(node):
                if isinstance(n, ast.Name) and n.id in named:
                    callees.add(named[n.id])
                elif (
                    isinstance(n, ast.Attribute)
                    and isinstance(n.value, ast.Name)
                    and n.value.id in imported
                ):
                    callees.add((imported[n.value.id], n.attr))
            calls[(module, name)] = callees
    found: dict[Function, set[tuple[str, str]]] = {}
    for function in own:
        reached, todo = {function}, [function]
        while todo:
            for callee in calls.get(todo.pop(), set()) - reached:
                reached.add(callee)
                todo.append(callee)
        found[function] = set().union(*(own.get(f, set()) for f in reached))
    return found


def test_the_parameter_scan_reads_the_module_of_every_view():
    """A view in a module the scan does not read would be attacked without the query
    parameters it reads by name: a new module or package of views must be found."""
    ours = {cb.__module__ for _, _, cb in VIEWS if cb.__module__.startswith("ketacare.")}
    assert ours - set(view_modules()) == set()


# --- what a valid submission looks like -------------------------------------------------------


def filled(field: Field, role: str | None, mrn: str) -> str:
    """A value the form would likely accept, so that a hostile value in one field reaches the
    checks (and the action) behind the form rather than stopping at another empty field."""
    name = field.name
    now = timezone.localtime()
    if field.kind == "password" or name.endswith("password"):
        return PASSWORD
    if field.kind == "select":
        return field.value or next((o for o in field.options if o), "")
    if field.value.strip() or field.kind in ("hidden", "checkbox", "radio"):
        return field.value
    if name.endswith("username"):  # a witness or a prescriber signing: someone else
        return "nurse" if role == "prescriber" else "prescriber"
    hints = {
        "mrn": mrn,
        "dea_number": DEA_NUMBER,
        "ndc": "00000-0009-01",
        "email": "fuzz@example.org",
        "token": "123456",
        "username": "fuzzer",
    }
    for key, value in hints.items():
        if name.endswith(key):
            return value
    if field.kind == "date":
        return now.date().isoformat()
    if field.kind == "datetime-local":
        return (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    if field.kind == "textarea":
        return "Written by the hostile-input test."
    return "1"


@dataclass(frozen=True)
class Target:
    """One place a hostile value goes: ``name`` in the query string (GET), the body (POST) or
    the path (a ``<path:N>`` marker) of a request to ``path``, the other fields as ``base``
    holds them; ``kind`` says which known values it gets."""

    role: str | None
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    base: tuple[tuple[str, str], ...]
    name: str
    kind: str

    def send(self, client: Client, value: str):
        query, body, path = dict(self.query), dict(self.base), self.path
        if self.name.startswith("<path:"):
            path = path.replace(self.name, quote(value, safe=""))
        elif self.method == "get":
            query = {**query, **body, self.name: value}
        else:
            body = {**body, self.name: value}
        url = f"{path}?{urlencode(query)}" if query else path
        # Redirects are followed: the page after a save shows what was saved.
        if self.method == "get":
            return client.get(url, follow=True)
        return client.post(url, body, follow=True)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} [{self.name}] as {self.role or 'anonymous'}"


def field_kind(field: Field) -> str:
    if field.kind in KINDS:
        return field.kind
    if field.kind in ("select", "radio", "checkbox"):
        return "choice"
    return "textarea" if field.kind in ("password", "email") else "text"


def targets_of(
    url: str, route: str, role: str | None, html: str, mrn: str, read: set[tuple[str, str]]
) -> Iterator[Target]:
    """The places to attack on one page: its forms' fields, the query parameters its links
    use, the parameters its view reads by name (``read``: (method, name)), and the ids and
    names in its path."""
    page = read_page(html)
    for form in page.forms:
        parts = urlsplit(form.action or url)
        path, query = parts.path or url, tuple(parse_qsl(parts.query))
        base = tuple((f.name, filled(f, role, mrn)) for f in form.fields)
        for field in form.fields:
            if field.name != "csrfmiddlewaretoken":
                yield Target(role, form.method, path, query, base, field.name, field_kind(field))
    for name, sample in sorted(page.link_params.items()):
        yield Target(role, "get", url, (), (), name, "date" if ISO_DATE.match(sample) else "text")
    for method, name in sorted(read):
        yield Target(role, method, url, (), (), name, "parameter")
    segments = url.strip("/").split("/")
    for number, part in enumerate(route.strip("/").split("/")):
        if part.startswith("<"):
            marker = f"<path:{number}>"
            path = "/" + "/".join([*segments[:number], marker, *segments[number + 1 :]]) + "/"
            kind = "id" if part.startswith("<int:") else "name"
            yield Target(role, "get", path, (), (), marker, kind)
            yield Target(role, "post", path, (), (), marker, kind)


PATIENT = "patient"
PATIENT_EMAIL = "walk@example.org"


def roles_for(callback) -> list[str | None]:
    if hasattr(callback, "ketacare_public"):
        return [None]
    if hasattr(callback, "ketacare_portal"):
        return [PATIENT]  # the world's patient, signed in to the portal
    action = callback.ketacare_action
    roles = [next(r for r in ROLE_PREFERENCE if allowed(r, action))]
    if allowed("researcher", action) and "researcher" not in roles:
        roles.append("researcher")
    return roles


# --- the walk ---------------------------------------------------------------------------------


class Walk:
    """A client per role, signed in once, and every target of every page."""

    def __init__(self, staff, ids, mrn: str, patient: Client) -> None:
        self.clients: dict[str | None, Client] = {None: Client(raise_request_exception=False)}
        for role, user in staff.items():
            self.clients[role] = Client(raise_request_exception=False)
            self.clients[role].force_login(user)
        self.clients[PATIENT] = patient
        read = params_read_by_views()
        targets: dict[Target, None] = {}
        for name, route, callback in VIEWS:
            url = url_for(name, route, ids)
            for role in roles_for(callback):
                response = self.clients[role].get(url)
                html = response.content.decode() if response.status_code == 200 else ""
                reads = read.get((callback.__module__, callback.__name__), set())
                for target in targets_of(url, route, role, html, mrn, reads):
                    targets.setdefault(target)
        self.targets = list(targets)
        self.server_errors: dict[str, str] = {}

    def attack(self, target: Target, value: str) -> None:
        """One request, rolled back; a 5xx is kept with its exception (one per target)."""
        client = self.clients[target.role]
        session = client.cookies.get(django_settings.SESSION_COOKIE_NAME)
        with transaction.atomic():
            response = target.send(client, value)
            transaction.set_rollback(True)
        if session is not None:  # a sign-out (rolled back) must not end the walk's session
            client.cookies[django_settings.SESSION_COOKIE_NAME] = session.value
        if response.status_code >= 500:
            error = getattr(response, "exc_info", None)
            why = repr(error[1]) if error else f"status {response.status_code}"
            self.server_errors.setdefault(str(target), f"{value[:40]!r}: {why[:300]}")


@pytest.fixture
def far_from_utc(settings):
    settings.TIME_ZONE = CLINIC_TIME_ZONE


@pytest.fixture
def walk(far_from_utc, settings, db):
    # The public referral form shows its screener only with a clinic's wording of it.
    settings.KETACARE_SCREENER_WORDING = str(SCREENER_WORDING)
    # Built in the test's own transaction, after far_from_utc: the clinic's dates (today's
    # session, tomorrow's plan) are those of its time zone.
    world = build_world()
    _, link_path = make_link(world.staff["nurse"], world.patient)
    ids = {**world.ids, "token": link_path.rstrip("/").rsplit("/", 1)[-1]}
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # thousands of expected 4xx warnings (and any 500s)
    Patient.objects.filter(pk=world.patient.pk).update(email=PATIENT_EMAIL)
    patient = signed_in_client(world.patient.clinic, PATIENT_EMAIL)
    patient.raise_request_exception = False
    yield Walk(world.staff, ids, world.patient.mrn, patient)
    logger.setLevel(level)


def report(errors: dict[str, str]) -> str:
    return f"{len(errors)} server errors:\n" + "\n".join(f"{t}: {e}" for t, e in errors.items())


def test_no_hostile_value_gets_a_server_error(walk):
    # Every target gets the known values of its kind ...
    for target in walk.targets:
        for zone in ZONES.get(target.kind, [CLINIC_TIME_ZONE]):
            with override_settings(TIME_ZONE=zone):
                for value in KINDS[target.kind]:
                    walk.attack(target, value)

    # ... and hypothesis sends values of every kind to targets it draws.
    @settings(
        max_examples=EXPLORED_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def explore(data: st.DataObject) -> None:
        for target in data.draw(st.lists(st.sampled_from(walk.targets), min_size=10, max_size=10)):
            walk.attack(target, data.draw(hostile_values()))

    explore()
    assert not walk.server_errors, report(walk.server_errors)
