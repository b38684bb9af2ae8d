"""The staff console at /staff: sign-in, the handoff list, transcripts, claim/note/resolve,
exports, the screening-call bookings by day and (for admins) the audit log.

Every page except the sign-in page needs a signed-in account (enforced once, in
`require_sign_in`, so a new route cannot forget it). Every view and change is written to the audit
log in the same transaction as the change. Visitors' personal data never goes to the application
log or the audit log.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from bot.db.models import (
    HANDOFF_REASONS,
    HANDOFF_STATUSES,
    URGENCIES,
    Booking,
    Handoff,
    StaffUser,
    utc_now,
)
from bot.db.session import session_scope
from bot.desk import audit, handoff_flood
from bot.desk.bookings import (
    BookingError,
    bookings_for_handoff,
    bookings_ics,
    cancel_for_clinic,
    list_bookings,
    mark_done,
)
from bot.desk.handoffs import (
    HandoffError,
    add_note,
    claim_handoff,
    count_handoffs,
    get_handoff,
    handoff_to_dict,
    list_handoffs,
    resolve_handoff,
    transcript_as_text,
)
from bot.desk.scheduling import format_slot
from bot.desk.staff_accounts import LoginError, Throttled, account, sign_in, sign_out
from bot.web import clinic_calendar, staff_sessions
from bot.web.security import csrf
from bot.web.staff_sessions import StaffIdentity

blueprint = Blueprint("staff", __name__, url_prefix="/staff")

PUBLIC_ENDPOINTS = {"staff.login"}
# Open to an account that must choose a new password before anything else.
PASSWORD_CHANGE_ENDPOINTS = {"staff.change_password", "staff.logout"}
LIST_LIMIT = 500
AUDIT_PAGE_SIZE = 100


def _database_url() -> str | None:
    return current_app.config.get("DATABASE_URL") or None


def _db():
    return session_scope(_database_url())


def _me() -> StaffIdentity:
    return g.staff_user


# --- Sign-in required everywhere ------------------------------------------------------------


def _current_user() -> StaffIdentity | None:
    """The signed-in account, checked against the database and the clock on every request
    (bot/web/staff_sessions.py); a session that has ended says why on the sign-in page."""
    with _db() as db:
        identity, ended = staff_sessions.current(db)
    if ended is not None:
        flash(staff_sessions.ENDED_MESSAGES[ended], "error")
    return identity


@blueprint.before_request
def require_sign_in():
    """Sign-in first, then the CSRF token of every form post (this blueprint is exempt from
    the app-wide check, which would run first and answer an anonymous post with 400, not 401)."""
    g.staff_user = None
    if request.endpoint not in PUBLIC_ENDPOINTS:
        g.staff_user = _current_user()
        if g.staff_user is None:
            if request.method in ("GET", "HEAD"):
                target = request.full_path if request.query_string else request.path
                return redirect(url_for("staff.login", next=target))
            abort(401)
        if g.staff_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
            return redirect(url_for("staff.change_password"))
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()  # a no-op for GET, HEAD and OPTIONS
    return None


def require_role(*roles: str):
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            me = _me()
            if me.role not in roles:
                with _db() as db:
                    audit.record(db, me.username, "access_denied", target=request.path)
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # read by the access tests, which cover every route
        return wrapped

    return decorate


@blueprint.after_request
def no_caching_and_no_framing(response: Response) -> Response:
    # Pages hold visitors' personal data: keep them out of caches and other sites' frames.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    return response


def _error_page(status: int, title: str, message: str):
    return render_template("staff/error.html", title=title, message=message), status


@blueprint.errorhandler(401)
def unauthorised(_error):
    return _error_page(401, "Sign-in needed", "Sign in to use the staff console.")


@blueprint.errorhandler(403)
def forbidden(_error):
    return _error_page(403, "Not allowed", "Your role does not give access to this page.")


@blueprint.errorhandler(404)
def not_found(_error):
    return _error_page(404, "Not found", "There is no such page or handoff.")


# --- Sign-in and sign-out ---------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a path inside the console: never another site (an open redirect)."""
    default = url_for("staff.handoff_list")
    if not target or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/staff"):
        return default
    if parts.path.startswith(url_for("staff.login")):
        return default
    return target


def _login_page(status: int, error: str, next_target: str, username: str):
    page = render_template(
        "staff/login.html", next=next_target, error=error, username=username[:64]
    )
    return page, status


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    next_target = request.values.get("next") or ""
    if request.method == "GET":
        if _current_user() is not None:
            return redirect(_safe_next(next_target))
        return render_template("staff/login.html", next=next_target)

    username = request.form.get("username", "")
    with _db() as db:
        # sign_in returns a refusal rather than raising it: the failure it counted and audited
        # must be committed.
        outcome = sign_in(db, username, request.form.get("password", ""), _client_address())
        if isinstance(outcome, StaffUser):
            staff_sessions.start(outcome)
    if isinstance(outcome, Throttled):
        page = _login_page(429, outcome.message, next_target, username)
        return (*page, {"Retry-After": str(outcome.seconds)})
    if isinstance(outcome, LoginError):
        return _login_page(401, outcome.message, next_target, username)
    return redirect(_safe_next(next_target))


def _client_address() -> str:
    # Behind the proxy (TRUST_PROXY) ProxyFix has already put the client's address here.
    return request.remote_addr or "unknown"


@blueprint.post("/logout")
def logout():
    with _db() as db:
        sign_out(db, account(db, _me().username))
    session.clear()
    flash("You are signed out.", "success")
    return redirect(url_for("staff.login"))


# --- Handoff list -----------------------------------------------------------------------------


PAGE_SIZE = 50
FLOOD_CHOICES = {"yes": True, "no": False}


@dataclass
class Filters:
    status: str = ""
    reason: str = ""
    date_from: str = ""
    date_to: str = ""
    urgency: str = ""
    flood: str = ""  # "yes": only those marked possible flood, "no": only the others

    def describe(self) -> str:
        parts = [f"{name}={value}" for name, value in vars(self).items() if value]
        return " ".join(parts) or "no filters"

    def query(self, **extra) -> dict[str, str]:
        """The query string that shows these filters (for the paging links)."""
        names = {"date_from": "from", "date_to": "to"}
        return {names.get(k, k): v for k, v in {**vars(self), **extra}.items() if v}


def _page(raw: str, problems: list[str]) -> int:
    if not raw:
        return 1
    if not raw.isdigit() or int(raw) < 1:
        problems.append("'Page' must be a whole number from 1.")
        return 1
    return int(raw)


def _parse_date(raw: str, label: str, problems: list[str]) -> dt.date | None:
    if not raw:
        return None
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return dt.date.fromisoformat(raw)
    except ValueError:
        problems.append(f"'{label}' must be a date written as YYYY-MM-DD, for example 2026-01-31.")
        return None


def _parse_filters(args) -> tuple[Filters, dict, list[str]]:
    """The query string's filters, the matching list_handoffs arguments and any problems."""
    filters = Filters(
        status=args.get("status", "").strip(),
        reason=args.get("reason", "").strip(),
        date_from=args.get("from", "").strip(),
        date_to=args.get("to", "").strip(),
        urgency=args.get("urgency", "").strip(),
        flood=args.get("flood", "").strip(),
    )
    problems: list[str] = []
    if filters.urgency and filters.urgency not in URGENCIES:
        problems.append(f"Urgency must be one of: {', '.join(URGENCIES)}.")
    if filters.flood and filters.flood not in FLOOD_CHOICES:
        problems.append("'Possible flood' must be yes or no.")
    if filters.status and filters.status not in HANDOFF_STATUSES:
        problems.append(f"Status must be one of: {', '.join(HANDOFF_STATUSES)}.")
    if filters.reason and filters.reason not in HANDOFF_REASONS:
        problems.append(f"Reason must be one of: {', '.join(HANDOFF_REASONS)}.")
    start = _parse_date(filters.date_from, "From", problems)
    end = _parse_date(filters.date_to, "To", problems)
    if start and end and start > end:
        problems.append("'From' must be on or before 'To'.")
    utc = dt.timezone.utc
    arguments = {
        "status": filters.status or None,
        "reason": filters.reason or None,
        "created_from": dt.datetime.combine(start, dt.time(), utc) if start else None,
        # 'To' is inclusive: everything before the next day's midnight.
        "created_to": (
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), utc) if end else None
        ),
        "urgency": filters.urgency or None,
        "possible_flood": FLOOD_CHOICES.get(filters.flood),
    }
    return filters, arguments, problems


@blueprint.get("/")
@blueprint.get("/handoffs")
def handoff_list():
    """Every handoff is reachable: filtered, then paged (PAGE_SIZE a page), with those marked
    "possible flood" after the others and their addresses summed up apart."""
    filters, arguments, problems = _parse_filters(request.args)
    page = _page(request.args.get("page", "").strip(), problems)
    handoffs: list[Handoff] = []
    total, groups = 0, []
    with _db() as db:
        if not problems:
            total = count_handoffs(db, **arguments)
            offset = (page - 1) * PAGE_SIZE
            handoffs = list_handoffs(db, **arguments, limit=PAGE_SIZE, offset=offset)
            groups = handoff_flood.flood_groups(db)
        audit.record(
            db,
            _me().username,
            "handoffs_listed",
            detail="invalid filters"
            if problems
            else filters.describe() + (f" page={page}" if page > 1 else ""),
        )
    pages = max(1, -(-total // PAGE_SIZE))
    return (
        render_template(
            "staff/handoffs.html",
            handoffs=handoffs,
            filters=filters,
            problems=problems,
            statuses=HANDOFF_STATUSES,
            reasons=HANDOFF_REASONS,
            urgencies=URGENCIES,
            page=page,
            pages=pages,
            total=total,
            first=(page - 1) * PAGE_SIZE + 1,
            flood_groups=groups,
        ),
        400 if problems else 200,
    )


# --- One handoff ------------------------------------------------------------------------------


def _handoff_or_404(db, reference: str) -> Handoff:
    handoff = get_handoff(db, reference)
    if handoff is None:
        abort(404)
    return handoff


@blueprint.get("/handoffs/<reference>")
def handoff_detail(reference: str):
    with _db() as db:
        handoff = _handoff_or_404(db, reference)
        audit.record(db, _me().username, "handoff_viewed", target=handoff.reference)
        page = render_template(
            "staff/handoff.html",
            handoff=handoff,
            bookings=bookings_for_handoff(db, handoff.reference),
            note_limit=4000,
        )
    return page


def _locked_handoff(db, reference: str) -> Handoff:
    """The handoff, row-locked until commit where the database can (PostgreSQL), so two staff
    members acting at once cannot both claim it."""
    handoff = db.execute(
        sa.select(Handoff).where(Handoff.reference == reference).with_for_update()
    ).scalar_one_or_none()
    if handoff is None:
        abort(404)
    return handoff


def _audited_change(reference: str, action: str, locate, change, refusals, done: str):
    """Finds the row to change (404 if there is none), changes it and audits the change, or
    audits the refusal and shows its reason; returns the row."""
    with _db() as db:
        row = locate(db, reference)
        try:
            change(db, row)
        except refusals as error:
            audit.record(
                db, _me().username, f"{action}_refused", target=reference, detail=str(error)
            )
            flash(str(error), "error")
        else:
            audit.record(db, _me().username, action, target=reference)
            flash(done, "success")
    return row


def _change(reference: str, action: str, change, done: str):
    _audited_change(reference, action, _locked_handoff, change, HandoffError, done)
    return redirect(url_for("staff.handoff_detail", reference=reference))


@blueprint.post("/handoffs/<reference>/claim")
def claim(reference: str):
    return _change(
        reference,
        "handoff_claimed",
        lambda db, handoff: claim_handoff(db, handoff, _me().username),
        f"You claimed {reference}.",
    )


@blueprint.post("/handoffs/<reference>/resolve")
def resolve(reference: str):
    return _change(
        reference,
        "handoff_resolved",
        lambda db, handoff: resolve_handoff(db, handoff, _me().username),
        f"{reference} is resolved.",
    )


@blueprint.post("/handoffs/<reference>/notes")
def note(reference: str):
    text = request.form.get("text", "")
    # The note's text is not audited: it may hold the visitor's personal data.
    return _change(
        reference,
        "handoff_note_added",
        lambda db, handoff: add_note(db, handoff, _me().username, text),
        "Your note is saved.",
    )


def _attachment(body: str | bytes, mimetype: str, filename: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@blueprint.get("/handoffs/<reference>/export.txt")
def export_text(reference: str):
    with _db() as db:
        handoff = _handoff_or_404(db, reference)
        body = transcript_as_text(handoff)
        audit.record(db, _me().username, "handoff_exported", target=reference, detail="text")
    return _attachment(body, "text/plain", f"{reference}.txt")


@blueprint.get("/handoffs/<reference>/export.json")
def export_json(reference: str):
    with _db() as db:
        handoff = _handoff_or_404(db, reference)
        body = json.dumps(handoff_to_dict(handoff), ensure_ascii=False, indent=2)
        audit.record(db, _me().username, "handoff_exported", target=reference, detail="json")
    return _attachment(body + "\n", "application/json", f"{reference}.json")


# --- Screening-call bookings -----------------------------------------------------------------


def _chosen_day(problems: list[str]) -> dt.date | None:
    """?day=YYYY-MM-DD, by default today on the clinic's clock."""
    raw = request.args.get("day", "").strip()
    if not raw:
        return clinic_calendar().today(utc_now())
    return _parse_date(raw, "Day", problems)


@blueprint.get("/bookings")
def booking_list():
    problems: list[str] = []
    # One client address's upcoming calls: what a booking flood looks like, to cancel at once.
    address = request.args.get("address", "").strip()[:64]
    upcoming = request.args.get("view", "").strip() == "upcoming" or bool(address)
    day = None if upcoming else _chosen_day(problems)
    clinic, now = clinic_calendar(), utc_now()
    bookings: list[Booking] = []
    with _db() as db:
        if upcoming:
            bookings = list_bookings(
                db,
                status="booked",
                since=now,
                calendar=clinic,
                limit=LIST_LIMIT,
                client_address=address or None,
            )
        elif not problems:
            bookings = list_bookings(db, day, calendar=clinic, limit=LIST_LIMIT)
        linked = {b.handoff_reference for b in bookings if b.handoff_reference}
        # Handoffs that `kapbot purge` removed are shown without a link.
        known = linked and set(
            db.execute(sa.select(Handoff.reference).where(Handoff.reference.in_(linked))).scalars()
        )
        audit.record(
            db,
            _me().username,
            "bookings_listed",
            detail="invalid filters" if problems else _booking_view(upcoming, address, day),
        )
    one_day = dt.timedelta(days=1)
    return (
        render_template(
            "staff/bookings.html",
            bookings=bookings,
            day=day,
            upcoming=upcoming,
            address=address,
            problems=problems,
            known_handoffs=known,
            previous_day=day - one_day if day else None,
            next_day=day + one_day if day else None,
            today=clinic.today(now),
            timezone=clinic.timezone.key,
            limit=LIST_LIMIT,
        ),
        400 if problems else 200,
    )


def _booking_view(upcoming: bool, address: str, day: dt.date | None) -> str:
    if address:
        return f"upcoming address={address}"
    return "upcoming" if upcoming else f"day={day}"


def _locked_booking(db, reference: str) -> Booking:
    """The booking, row-locked until commit where the database can (see `_locked_handoff`)."""
    booking = db.execute(
        sa.select(Booking).where(Booking.reference == reference).with_for_update()
    ).scalar_one_or_none()
    if booking is None:
        abort(404)
    return booking


def _change_booking(reference: str, action: str, change, done: str):
    booking = _audited_change(reference, action, _locked_booking, change, BookingError, done)
    return redirect(url_for("staff.booking_list", day=clinic_day(booking.slot_start)))


def _cancel_for_clinic(references: list[str], reason: str) -> None:
    """Cancels through the one service function the CLI uses too (row locks, audit entries
    with the reason), and says what became of each."""
    try:
        with _db() as db:
            result = cancel_for_clinic(db, references, by=_me().username, reason=reason)
    except BookingError as error:
        flash(str(error), "error")
        return
    if len(result.cancelled) == 1:
        flash(
            f"Booking {result.cancelled[0]} is cancelled; its time can be booked again.", "success"
        )
    elif result.cancelled:
        flash(
            f"Cancelled {len(result.cancelled)} calls: {', '.join(result.cancelled)}; "
            "their times can be booked again.",
            "success",
        )
    for why in result.refused.values():
        flash(why, "error")
    if not result.cancelled and not result.refused:
        flash("Choose at least one call to cancel.", "error")


@blueprint.post("/bookings/<reference>/cancel")
def cancel_booking(reference: str):
    with _db() as db:
        booking = _locked_booking(db, reference)
        day = clinic_day(booking.slot_start)
    reason = request.form.get("reason", "").strip() or "cancelled on the bookings page"
    _cancel_for_clinic([reference], reason)
    return redirect(url_for("staff.booking_list", day=day))


@blueprint.post("/bookings/cancel")
def cancel_bookings():
    """Several calls at once (a booking flood), with one reason for the audit log."""
    _cancel_for_clinic(request.form.getlist("reference"), request.form.get("reason", ""))
    address = request.form.get("address", "").strip()
    if address:
        return redirect(url_for("staff.booking_list", address=address))
    return redirect(url_for("staff.booking_list", view="upcoming"))


@blueprint.post("/bookings/<reference>/done")
def booking_done(reference: str):
    return _change_booking(
        reference,
        "booking_done",
        lambda db, booking: mark_done(db, booking),
        f"Booking {reference} is marked as done.",
    )


@blueprint.get("/bookings.ics")
def bookings_calendar():
    problems: list[str] = []
    day = _chosen_day(problems)
    if problems:
        return _error_page(400, "Not a date", problems[0])
    clinic = clinic_calendar()
    with _db() as db:
        bookings = [b for b in list_bookings(db, day, calendar=clinic) if b.status != "cancelled"]
        body = bookings_ics(bookings, clinic)
        audit.record(db, _me().username, "bookings_exported", detail=f"day={day}")
    return _attachment(body, "text/calendar", f"screening-calls-{day}.ics")


# --- Audit log --------------------------------------------------------------------------------


@blueprint.get("/audit")
@require_role("admin")
def audit_log():
    """Every entry stays reachable: pages of AUDIT_PAGE_SIZE, a filter by who and what, and
    failed sign-ins for unknown names (anyone can make thousands) hidden unless asked for."""
    wanted = audit.AuditFilter(
        actor=request.args.get("actor", "").strip()[:64],
        action=request.args.get("action", "").strip()[:64],
        include_unknown_names=request.args.get("unknown") == "1",
    )
    number = request.args.get("page", "1")
    number = int(number) if number.isdigit() and 0 < int(number) <= 100_000 else 1
    with _db() as db:
        audit.record(db, _me().username, "audit_viewed")
        page = audit.page_of_entries(db, wanted, number, AUDIT_PAGE_SIZE)
        actions = audit.actions_in_use(db)
    # The filter again, for the paging links (empty fields left out).
    here = {"actor": wanted.actor, "action": wanted.action}
    here = {name: value for name, value in here.items() if value}
    if wanted.include_unknown_names:
        here["unknown"] = "1"
    return render_template(
        "staff/audit.html",
        page=page,
        wanted=wanted,
        actions=actions,
        size=AUDIT_PAGE_SIZE,
        here=here,
    )


# --- Template helpers -------------------------------------------------------------------------


@blueprint.app_template_filter("utc")
def format_utc(value: dt.datetime | None, seconds: bool = False) -> str:
    if value is None:
        return ""
    value = value.astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


@blueprint.app_template_filter("clinic_slot")
def format_clinic_slot(value: dt.datetime | None) -> str:
    """A slot on the clinic's clock: 'Tue 1 Dec, 10:30 am (EST)'."""
    return format_slot(value, clinic_calendar()) if value else ""


@blueprint.app_template_filter("clinic_day")
def clinic_day(value: dt.datetime) -> str:
    """The clinic-local date of `value`, as YYYY-MM-DD."""
    return clinic_calendar().local(value).date().isoformat()
