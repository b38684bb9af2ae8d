"""`kapbot` for the care team and for retention: list the handoffs and store those kept during
an outage, list and cancel bookings, purge what is kept no longer.

The listings only read: they do not migrate the database, they ask for `kapbot db upgrade`."""

from __future__ import annotations

import json
import sys

import click

from bot.cli.common import check_one_of, fail, migrate, operator, print_table, require_latest_schema
from bot.settings import get_settings


@click.group()
def handoffs() -> None:
    """Handoffs to the care team: list them, store those kept during a database outage."""


@handoffs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, with transcripts.")
@click.option("--status", help="open, claimed or resolved.")
@click.option("--reason", help="eligibility, human_request, crisis or unanswered.")
@click.option("--urgency", help="urgent or normal.")
@click.option(
    "--flood",
    type=click.Choice(["yes", "no"]),
    help="yes: only those marked possible flood; no: only the others.",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many.")
@click.option("--offset", type=click.IntRange(min=0), default=0, help="Skip this many first.")
def handoffs_list(
    as_json: bool,
    status: str | None,
    reason: str | None,
    urgency: str | None,
    flood: str | None,
    limit: int | None,
    offset: int,
) -> None:
    """List handoffs: those not marked possible flood first, then urgent first, then newest
    first."""
    from bot.db.models import HANDOFF_REASONS, HANDOFF_STATUSES, URGENCIES
    from bot.db.session import session_scope
    from bot.desk.handoffs import HandoffError, handoff_to_dict, list_handoffs

    check_one_of("status", status, HANDOFF_STATUSES)
    check_one_of("reason", reason, HANDOFF_REASONS)
    check_one_of("urgency", urgency, URGENCIES)
    require_latest_schema()
    filters = {
        "status": status,
        "reason": reason,
        "urgency": urgency,
        "possible_flood": None if flood is None else flood == "yes",
    }
    try:
        with session_scope() as session:
            found = list_handoffs(
                session, **filters, limit=limit, offset=offset, with_transcripts=as_json
            )
            rows = [handoff_to_dict(handoff) for handoff in found] if as_json else found
    except HandoffError as error:
        fail(str(error), 2)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no handoffs")
        return
    table = [("REFERENCE", "CREATED (UTC)", "REASON", "URGENCY", "STATUS", "CLAIMED BY", "FLOOD")]
    table += [
        (
            h.reference,
            h.created_at.strftime("%Y-%m-%d %H:%M"),
            h.reason,
            h.urgency,
            h.status,
            h.claimed_by or "-",
            f"possible ({h.client_address or 'unknown'})" if h.possible_flood else "-",
        )
        for h in rows
    ]
    print_table(table)


@handoffs.command("replay")
def handoffs_replay() -> None:
    """Store the handoffs kept in the pending file while the database was unreachable."""
    from bot.desk.handoff_delivery import pending_path, replay_pending

    migrate()
    stored = replay_pending()
    click.echo(f"replayed {stored} pending handoff(s)")
    if pending_path().exists():
        fail(f"some handoffs are still pending in {pending_path()} (see the errors above)")


@click.group()
def bookings() -> None:
    """Screening calls booked by visitors: list them, cancel one."""


@bookings.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, with contact details.")
@click.option("--status", help="booked, cancelled or done.")
@click.option(
    "--day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only calls on this day (YYYY-MM-DD, on the clinic's clock).",
)
def bookings_list(as_json: bool, status: str | None, day) -> None:
    """List bookings in time order. Times in the table are on the clinic's clock; in the JSON,
    UTC (ISO 8601 with +00:00)."""
    from bot.db.models import BOOKING_STATUSES
    from bot.db.session import session_scope
    from bot.desk.bookings import BookingError, booking_to_dict, list_bookings
    from bot.desk.scheduling import ClinicCalendar

    check_one_of("status", status, BOOKING_STATUSES)
    require_latest_schema()
    clinic = ClinicCalendar.from_settings(get_settings())
    try:
        with session_scope() as session:
            found = list_bookings(session, day.date() if day else None, status, calendar=clinic)
            rows = [booking_to_dict(booking, clinic) for booking in found]
    except BookingError as error:
        fail(str(error), 2)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        click.echo("no bookings")
        return
    # Like `handoffs list`: no contact details in the table (--json has them).
    table = [("REFERENCE", f"CALL ({clinic.timezone.key})", "STATUS", "HANDOFF")]
    table += [
        (row["reference"], row["slot_text"], row["status"], row["handoff_reference"] or "-")
        for row in rows
    ]
    print_table(table)


@bookings.command("cancel")
@click.argument("references", nargs=-1)
@click.option(
    "--address", help="Also every upcoming call booked from this client address (a flood)."
)
@click.option("--reason", default="cancelled from the command line", help="Why (in the audit log).")
def bookings_cancel(references: tuple[str, ...], address: str | None, reason: str) -> None:
    """Cancel the bookings REFERENCES for the clinic (their times can be booked again)."""
    from bot.db.models import utc_now
    from bot.db.session import session_scope
    from bot.desk.bookings import BookingError, cancel_for_clinic, list_bookings

    migrate()
    wanted = list(references)
    try:
        with session_scope() as session:
            if address:
                flood = list_bookings(
                    session, status="booked", since=utc_now(), client_address=address
                )
                wanted += [booking.reference for booking in flood]
            if not wanted:
                fail("name at least one booking, or --address with upcoming calls", 2)
            result = cancel_for_clinic(session, wanted, by=f"cli:{operator()}", reason=reason)
    except BookingError as error:
        fail(str(error), 2)
    for reference in result.cancelled:
        click.echo(f"cancelled {reference}; its time can be booked again")
    for why in result.refused.values():
        click.echo(f"error: {why}", err=True)
    if result.refused:
        sys.exit(1)


@click.command()
@click.option(
    "--older-than",
    "days",
    required=True,
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Delete handoffs resolved, bookings of calls and conversations last active more than "
    "DAYS days ago (at least 7 without --force).",
)
@click.option("--force", is_flag=True, help="Allow --older-than under 7 days.")
def purge(days: int, force: bool) -> None:
    """Delete resolved handoffs (contact details, transcripts, notes), bookings of past calls and
    old conversations. Open and claimed handoffs and upcoming calls are always kept."""
    from bot.conversations.retention import RetentionError, cutoff_for, purge
    from bot.db.models import utc_now
    from bot.db.session import session_scope
    from bot.desk.audit import record

    now = utc_now()
    try:
        cutoff = cutoff_for(days, now=now, force=force)
    except RetentionError as error:
        fail(str(error), 2)
    migrate()
    user = operator()
    with session_scope() as session:
        report = purge(session, days, now=now, force=force)
        record(
            session,
            f"cli:{user}",
            "purge",
            target=f"older than {days} days",
            detail=report.audit_detail(),
            at=now,
        )
    before = cutoff.strftime("%Y-%m-%d %H:%M UTC")
    click.echo(
        f"removed {report.handoffs} handoff(s) resolved before {before} with their contact "
        f"details, {report.turns} transcript message(s) and {report.notes} note(s); "
        f"{report.bookings} booking(s) of calls before {before}; "
        f"{report.conversations} conversation(s) ({report.events} event(s)) "
        f"whose last message was before {before} from the tracker store"
    )
