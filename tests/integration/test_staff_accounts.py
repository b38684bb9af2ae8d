"""Staff accounts (bot/desk/staff_accounts.py), the audit log (bot/desk/audit.py) and `kapbot staff
add`,
on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from argon2 import PasswordHasher

from bot.db.models import AuditEntry, StaffUser, utc_now
from bot.db.session import session_scope
from bot.desk import audit, login_throttle
from bot.desk.login_throttle import ACCOUNT, ADDRESS, PAIR, Throttled, wait_after
from bot.desk.staff_accounts import (
    LOGIN_REFUSED,
    AccountError,
    LoginError,
    authenticate,
    create_user,
    get_user,
)
from bot.settings import PROJECT_ROOT

PASSWORD = "correct horse battery staple"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def alice(database_url):
    with session_scope(database_url) as session:
        create_user(session, "alice", PASSWORD, "staff")
    return database_url


def load(url: str, username: str) -> StaffUser:
    with session_scope(url) as session:
        return get_user(session, username)


def attempt(
    url: str, username: str, password: str, now: dt.datetime, address: str = "192.0.2.1"
) -> LoginError | Throttled | StaffUser:
    """One sign-in attempt in its own transaction, committed even when refused (as the web app
    does), so the next attempt sees the counters."""
    with session_scope(url) as session:
        try:
            return authenticate(session, username, password, address, now=now)
        except (LoginError, Throttled) as error:
            return error


# --- create_user ------------------------------------------------------------------------------


def test_create_user_stores_an_argon2_hash_not_the_password(database_url):
    with session_scope(database_url) as session:
        user = create_user(session, "  Dana.M-1 ", PASSWORD, "editor")
    stored = load(database_url, "dana.m-1")
    assert stored.id == user.id and stored.role == "editor" and stored.active
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash
    assert PasswordHasher().verify(stored.password_hash, PASSWORD)
    assert stored.session_version == 0 and not stored.must_change_password


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("al", PASSWORD, "staff", "3 to 64 characters"),
        ("a" * 65, PASSWORD, "staff", "3 to 64 characters"),
        ("al ice", PASSWORD, "staff", "3 to 64 characters"),
        ("alice@clinic", PASSWORD, "staff", "3 to 64 characters"),
        ("alice", "short pass1", "staff", "at least 12 characters"),
        ("alice", "x" * 1025, "staff", "at most 1024 characters"),
        ("alice", PASSWORD, "root", "one of staff, editor, admin"),
    ],
)
def test_create_user_refuses_bad_input_with_a_clear_message(
    database_url, username, password, role, message
):
    with pytest.raises(AccountError, match=message), session_scope(database_url) as session:
        create_user(session, username, password, role)
    with session_scope(database_url) as session:
        assert session.query(StaffUser).count() == 0


def test_create_user_refuses_a_duplicate_username(alice):
    with pytest.raises(AccountError, match="'alice' is already taken"):
        with session_scope(alice) as session:
            create_user(session, "ALICE", "another long password", "admin")
    assert load(alice, "alice").role == "staff"


# --- authenticate and the sign-in throttle ----------------------------------------------------


def seconds(value: float) -> dt.timedelta:
    return dt.timedelta(seconds=value)


def test_right_password_signs_in_and_records_the_time(alice):
    user = attempt(alice, "alice", PASSWORD, T0)
    assert isinstance(user, StaffUser) and user.username == "alice"
    assert load(alice, "alice").last_login_at == T0


def test_wrong_and_unknown_get_the_same_message(alice):
    wrong = attempt(alice, "alice", "not the password", T0)
    unknown = attempt(alice, "nobody", PASSWORD, T0)
    assert isinstance(wrong, LoginError) and isinstance(unknown, LoginError)
    assert str(wrong) == str(unknown) == wrong.message == LOGIN_REFUSED
    assert (wrong.reason, wrong.username) == ("wrong_password", "alice")
    assert (unknown.reason, unknown.username) == ("unknown_user", None)


def test_the_wait_doubles_after_the_free_failures_up_to_its_cap():
    assert [wait_after(PAIR, n).total_seconds() for n in range(4, 9)] == [0, 5, 10, 20, 40]
    assert wait_after(PAIR, 40) == PAIR.longest_wait == dt.timedelta(hours=1)
    assert wait_after(ACCOUNT, 9) == dt.timedelta(0) and wait_after(ACCOUNT, 30).seconds == 60
    assert wait_after(ADDRESS, 10_000) == dt.timedelta(minutes=5)


def test_failures_from_one_address_make_that_address_wait_not_the_owner(alice):
    for number in range(PAIR.free_failures):
        error = attempt(alice, "alice", f"guess {number}", T0, address="203.0.113.66")
        assert isinstance(error, LoginError) and error.reason == "wrong_password"
    # The stranger's address now waits, even with the right password...
    throttled = attempt(alice, "alice", PASSWORD, T0, address="203.0.113.66")
    assert isinstance(throttled, Throttled)
    assert throttled.message == "Too many sign-in attempts. Try again in 5 seconds."
    # ...but the owner's address does not, and neither does the stranger's once the wait is over.
    assert isinstance(attempt(alice, "alice", PASSWORD, T0, address="198.51.100.7"), StaffUser)
    after_the_wait = attempt(alice, "alice", PASSWORD, T0 + seconds(5.5), address="203.0.113.66")
    assert isinstance(after_the_wait, StaffUser)


def test_the_stranger_waits_longer_and_longer(alice):
    now = T0
    for number in range(PAIR.free_failures + 4):
        error = attempt(alice, "alice", f"guess {number}", now, address="203.0.113.66")
        assert isinstance(error, LoginError), number
        now += wait_after(PAIR, number + 1) + seconds(0.1)
    throttled = attempt(alice, "alice", PASSWORD, now - seconds(1), address="203.0.113.66")
    assert isinstance(throttled, Throttled) and throttled.seconds == 1
    assert isinstance(
        attempt(alice, "alice", "guess", now - seconds(16), address="203.0.113.66"), Throttled
    )


def test_guesses_from_many_addresses_slow_the_account_but_not_a_known_address(alice):
    assert isinstance(attempt(alice, "alice", PASSWORD, T0, address="198.51.100.7"), StaffUser)
    for number in range(ACCOUNT.free_failures):
        attempt(alice, "alice", "guess", T0, address=f"203.0.113.{number}")
    # A new address has to wait for the account's looser limit...
    assert isinstance(attempt(alice, "alice", PASSWORD, T0, address="192.0.2.99"), Throttled)
    # ...the address the owner signed in from before does not.
    assert isinstance(attempt(alice, "alice", PASSWORD, T0, address="198.51.100.7"), StaffUser)


def test_one_address_trying_many_names_waits(alice):
    for number in range(ADDRESS.free_failures):
        attempt(alice, f"name-{number}", "guess", T0, address="203.0.113.9")
    assert isinstance(attempt(alice, "alice", PASSWORD, T0, address="203.0.113.9"), Throttled)
    assert isinstance(attempt(alice, "alice", PASSWORD, T0, address="192.0.2.10"), StaffUser)


def test_counts_are_forgotten_after_a_day_without_failures(alice):
    for _ in range(PAIR.free_failures):
        attempt(alice, "alice", "guess", T0)
    next_day = T0 + login_throttle.FORGET_AFTER + seconds(1)
    error = attempt(alice, "alice", "guess", next_day)
    assert isinstance(error, LoginError)  # counted as the first failure again, no wait
    assert isinstance(attempt(alice, "alice", PASSWORD, next_day), StaffUser)


def test_the_throttle_never_stores_a_name_or_an_address(alice):
    from bot.db.models import LoginThrottle

    attempt(alice, "typed-my-password-here", "guess", T0, address="203.0.113.66")
    with session_scope(alice) as session:
        stored = repr([vars(row) for row in session.query(LoginThrottle)])
    assert "typed-my-password-here" not in stored and "203.0.113.66" not in stored


def test_an_inactive_account_is_refused(alice):
    with session_scope(alice) as session:
        get_user(session, "alice").active = False
    error = attempt(alice, "alice", PASSWORD, T0)
    assert isinstance(error, LoginError) and error.reason == "inactive"


def test_an_outdated_hash_is_replaced_on_sign_in(alice):
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    with session_scope(alice) as session:
        get_user(session, "alice").password_hash = weak.hash(PASSWORD)
    assert PasswordHasher().check_needs_rehash(load(alice, "alice").password_hash)

    assert isinstance(attempt(alice, "alice", PASSWORD, T0), StaffUser)
    new_hash = load(alice, "alice").password_hash
    assert not PasswordHasher().check_needs_rehash(new_hash)
    assert PasswordHasher().verify(new_hash, PASSWORD)


# --- audit ------------------------------------------------------------------------------------


def test_audit_record_and_recent_entries_newest_first(database_url):
    with session_scope(database_url) as session:
        for minute in range(5):
            audit.record(
                session,
                "alice",
                f"action_{minute}",
                target="KAP-ABCDEF",
                at=T0 + dt.timedelta(minutes=minute),
            )
        audit.record(session, "x" * 100, "long", detail="d" * 5000)
    with session_scope(database_url) as session:
        entries = audit.recent_entries(session, limit=3)
        assert [entry.action for entry in entries] == ["long", "action_4", "action_3"]
        assert len(entries[0].actor) == 64 and len(entries[0].detail) == 1000
        assert entries[1].at == T0 + dt.timedelta(minutes=4)
        assert entries[1].target == "KAP-ABCDEF"
        assert len(audit.recent_entries(session)) == 6


# --- kapbot staff add -------------------------------------------------------------------------


def kapbot_staff(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "staff", "add", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": url},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        # No controlling terminal: getpass falls back to reading standard input.
        start_new_session=True,
    )


def test_cli_staff_add_creates_an_account_and_audits_it(database_url):
    result = kapbot_staff(
        database_url, "adam", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert result.returncode == 0, result.stderr
    assert "created the admin account 'adam'" in result.stdout
    with session_scope(database_url) as session:
        assert isinstance(authenticate(session, "adam", PASSWORD), StaffUser)
        assert get_user(session, "adam").role == "admin"
        entries = session.query(AuditEntry).filter_by(action="staff_user_created").all()
        assert [(entry.target, entry.detail) for entry in entries] == [("adam", "admin")]
        assert entries[0].actor.startswith("cli:")
        assert PASSWORD not in (entries[0].detail or "")


def test_cli_staff_add_asks_for_the_password_twice(database_url):
    result = kapbot_staff(database_url, "bea", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert load(database_url, "bea").role == "staff"

    differ = kapbot_staff(database_url, "cal", stdin=f"{PASSWORD}\n{PASSWORD}!\n")
    assert differ.returncode == 2
    assert "the two passwords differ" in differ.stderr
    assert load(database_url, "cal") is None


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["x", "--password-stdin"], PASSWORD, "3 to 64 characters"),
        (["dora", "--role", "root", "--password-stdin"], PASSWORD, "one of staff, editor, admin"),
        (["dora", "--password-stdin"], "too short", "at least 12 characters"),
    ],
)
def test_cli_staff_add_refuses_bad_input_with_exit_code_2(database_url, args, stdin, message):
    result = kapbot_staff(database_url, *args, stdin=stdin + "\n")
    assert result.returncode == 2
    assert message in result.stderr
    assert load(database_url, "dora") is None


def test_cli_staff_add_refuses_a_taken_username(alice):
    result = kapbot_staff(alice, "alice", "--password-stdin", stdin="another long password\n")
    assert result.returncode == 2
    assert "'alice' is already taken" in result.stderr
    assert load(alice, "alice").role == "staff"


# --- kapbot staff unlock|deactivate|reactivate|set-role|reset-password ------------------------


def kapbot(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "staff", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def cli_audit(url: str) -> list[tuple[str, str, str | None]]:
    with session_scope(url) as session:
        entries = session.query(AuditEntry).order_by(AuditEntry.id)
        return [(e.action, e.target, e.detail) for e in entries if e.actor.startswith("cli:")]


def test_cli_unlock_lifts_the_wait_a_stranger_caused(alice):
    for number in range(PAIR.free_failures + 3):
        attempt(alice, "alice", f"guess {number}", utc_now())
    assert isinstance(attempt(alice, "alice", PASSWORD, utc_now()), Throttled)

    result = kapbot(alice, "unlock", "alice")
    assert result.returncode == 0, result.stderr
    assert "lifted 2 sign-in wait(s) on 'alice'" in result.stdout  # the pair's and the account's
    assert isinstance(attempt(alice, "alice", PASSWORD, utc_now()), StaffUser)
    assert cli_audit(alice) == [("staff_user_unlocked", "alice", "waits=2")]


def test_cli_account_changes_end_sessions_and_are_audited(alice):
    version = load(alice, "alice").session_version

    result = kapbot(alice, "set-role", "alice", "editor")
    assert result.returncode == 0, result.stderr
    user = load(alice, "alice")
    assert user.role == "editor" and user.session_version == version + 1

    result = kapbot(alice, "reset-password", "alice")
    assert result.returncode == 0, result.stderr
    temporary = result.stdout.strip().splitlines()[-1]
    user = load(alice, "alice")
    assert user.must_change_password and user.session_version == version + 2
    assert isinstance(attempt(alice, "alice", PASSWORD, utc_now()), LoginError)
    assert isinstance(attempt(alice, "alice", temporary, utc_now()), StaffUser)

    result = kapbot(alice, "deactivate", "alice")
    assert result.returncode == 0, result.stderr
    user = load(alice, "alice")
    assert not user.active and user.session_version == version + 3
    assert attempt(alice, "alice", temporary, utc_now()).reason == "inactive"

    assert kapbot(alice, "reactivate", "alice").returncode == 0
    assert load(alice, "alice").active
    assert [row[:2] for row in cli_audit(alice)] == [
        ("staff_role_changed", "alice"),
        ("staff_password_reset", "alice"),
        ("staff_user_deactivated", "alice"),
        ("staff_user_reactivated", "alice"),
    ]
    assert cli_audit(alice)[0][2] == "staff -> editor"
    assert temporary not in repr(cli_audit(alice))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["unlock", "nobody"], "There is no account named 'nobody'"),
        (["set-role", "alice", "root"], "one of staff, editor, admin"),
        (["set-role", "alice", "staff"], "already has the role staff"),
        (["set-role", "adam", "staff"], "'adam' is the only active administrator"),
        (["deactivate", "adam"], "'adam' is the only active administrator"),
        (["reactivate", "alice"], "already active"),
    ],
)
def test_cli_account_changes_refuse_with_exit_code_2_and_change_nothing(alice, args, message):
    with session_scope(alice) as session:
        create_user(session, "adam", PASSWORD, "admin")
    result = kapbot(alice, *args)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr
    assert (load(alice, "alice").role, load(alice, "adam").role) == ("staff", "admin")
    assert load(alice, "adam").active and cli_audit(alice) == []
