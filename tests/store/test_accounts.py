"""Passwords: argon2id hashes, one answer for every failed login, a role chosen at login."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from store.accounts import authenticate, set_password
from store.db import read_session, write_session
from store.tables.users import UserAccount
from store.users import UserError, add_user, disable_user, grant_role

PASSWORD = "a-good-password-1"


def _add(engine: Engine) -> None:
    with write_session(engine) as s:
        add_user(session=s, name="李村干", role="village", region="520602100201")
        set_password(session=s, name="李村干", password=PASSWORD)
        add_user(session=s, name="无密码", role="county", region="520602")


def test_a_password_is_stored_as_an_argon2id_hash_never_as_written(engine: Engine) -> None:
    _add(engine)
    with read_session(engine) as s:
        stored = s.execute(
            select(UserAccount.password_hash).where(UserAccount.name == "李村干")
        ).scalar_one()
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored


def test_every_failed_login_is_the_same_none(engine: Engine) -> None:
    _add(engine)
    with write_session(engine) as s:
        assert authenticate(session=s, name="李村干", password="wrong-password", role=None) is None
        assert authenticate(session=s, name="没有这人", password=PASSWORD, role=None) is None
        assert authenticate(session=s, name="无密码", password=PASSWORD, role=None) is None
        login = authenticate(session=s, name="李村干", password=PASSWORD, role=None)
        assert login is not None and login.role.role == "village"
        disable_user(session=s, name="李村干")
        assert authenticate(session=s, name="李村干", password=PASSWORD, role=None) is None


def test_a_person_with_two_roles_names_the_role_once_the_password_is_right(
    engine: Engine,
) -> None:
    _add(engine)
    with write_session(engine) as s:
        grant_role(session=s, name="李村干", role="township", region="520602100")
    with write_session(engine) as s:
        with pytest.raises(UserError, match="有多个角色（village | township）"):
            authenticate(session=s, name="李村干", password=PASSWORD, role=None)
        login = authenticate(session=s, name="李村干", password=PASSWORD, role="township")
        assert login is not None and login.role.region_code == "520602100"
        with pytest.raises(UserError, match="没有角色 'county'"):
            authenticate(session=s, name="李村干", password=PASSWORD, role="county")
        assert authenticate(session=s, name="李村干", password="wrong-password", role="x") is None


@pytest.mark.parametrize("bad", ["short", " padded-password ", "x" * 129])
def test_a_bad_password_is_refused_with_its_reason(engine: Engine, bad: str) -> None:
    _add(engine)
    with write_session(engine) as s, pytest.raises(UserError, match="密码"):
        set_password(session=s, name="李村干", password=bad)


def test_a_hash_with_older_parameters_is_rehashed_at_the_next_good_login(engine: Engine) -> None:
    from argon2 import PasswordHasher
    from sqlalchemy import update

    from store.accounts import log_in

    _add(engine)
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with write_session(engine) as s:
        s.execute(update(UserAccount).where(UserAccount.name == "李村干").values(password_hash=old))
    assert log_in(engine, name="李村干", password="wrong-password", role=None) is None
    sql = select(UserAccount.password_hash).where(UserAccount.name == "李村干")
    with read_session(engine) as s:
        assert s.execute(sql).scalar_one() == old  # a failed login changes nothing
    done = log_in(engine, name="李村干", password=PASSWORD, role=None)
    assert done is not None and done.rehash
    with read_session(engine) as s:
        new = s.execute(sql).scalar_one()
    assert new != old and new.startswith("$argon2id$")
    again = log_in(engine, name="李村干", password=PASSWORD, role=None)
    assert again is not None and not again.rehash
