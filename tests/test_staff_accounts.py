"""Staff accounts (bot/staff_accounts.py), the audit log (bot/audit.py) and `kapbot staff add`,
on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest
from argon2 import PasswordHasher

from bot import audit
from bot.db.models import AuditEntry, StaffUser
from bot.db.session import session_scope
from bot.settings import PROJECT_ROOT
from bot.staff_accounts import (
    LOCKOUT,
    LOGIN_REFUSED,
    MAX_FAILED_LOGINS,
    AccountError,
    LoginError,
    authenticate,
    create_user,
    get_user,
)

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


def attempt(url: str, username: str, password: str, now: dt.datetime) -> LoginError | StaffUser:
    """One sign-in attempt in its own transaction, committed even when refused (as the web app
    does), so the next attempt sees the counters."""
    with session_scope(url) as session:
        try:
            return authenticate(session, username, password, now=now)
        except LoginError as error:
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
    assert stored.failed_logins == 0 and stored.locked_until is None


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


# --- authenticate and lockout -----------------------------------------------------------------


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
    assert load(alice, "alice").failed_logins == 1


def test_five_failures_lock_the_account_even_against_the_right_password(alice):
    for number in range(1, MAX_FAILED_LOGINS + 1):
        error = attempt(alice, "alice", f"wrong guess {number}", T0 + dt.timedelta(seconds=number))
        assert error.reason == ("locked_now" if number == MAX_FAILED_LOGINS else "wrong_password")
    user = load(alice, "alice")
    assert user.failed_logins == MAX_FAILED_LOGINS
    assert user.locked_until == T0 + dt.timedelta(seconds=MAX_FAILED_LOGINS) + LOCKOUT

    refused = attempt(alice, "alice", PASSWORD, user.locked_until - dt.timedelta(seconds=1))
    assert isinstance(refused, LoginError)
    assert refused.reason == "locked" and refused.message == LOGIN_REFUSED
    assert load(alice, "alice").locked_until == user.locked_until  # not extended, not lifted


def test_lockout_runs_out_after_fifteen_minutes(alice):
    for _ in range(MAX_FAILED_LOGINS):
        attempt(alice, "alice", "wrong guess", T0)
    locked_until = load(alice, "alice").locked_until
    assert locked_until == T0 + dt.timedelta(minutes=15)

    user = attempt(alice, "alice", PASSWORD, locked_until + dt.timedelta(seconds=1))
    assert isinstance(user, StaffUser)
    after = load(alice, "alice")
    assert after.failed_logins == 0 and after.locked_until is None


def test_after_a_lockout_the_count_starts_again(alice):
    for _ in range(MAX_FAILED_LOGINS):
        attempt(alice, "alice", "wrong guess", T0)
    later = T0 + LOCKOUT + dt.timedelta(minutes=1)
    error = attempt(alice, "alice", "wrong again", later)
    assert error.reason == "wrong_password"
    user = load(alice, "alice")
    assert user.failed_logins == 1 and user.locked_until is None


def test_a_success_resets_the_failure_count(alice):
    for _ in range(MAX_FAILED_LOGINS - 1):
        attempt(alice, "alice", "wrong guess", T0)
    assert isinstance(attempt(alice, "alice", PASSWORD, T0), StaffUser)
    assert load(alice, "alice").failed_logins == 0
    assert attempt(alice, "alice", "wrong guess", T0).reason == "wrong_password"


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
