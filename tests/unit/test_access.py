"""Access decisions and refusal pacing, with an injected clock."""

from __future__ import annotations

from bot.handlers.access_policy import REFUSAL_INTERVAL, AccessPolicy, not_allowed_text
from tests.support import FakeClock


def policy(
    users: frozenset[int] = frozenset(),
    chats: frozenset[int] = frozenset(),
    admins: frozenset[int] = frozenset(),
) -> AccessPolicy:
    return AccessPolicy(allowed_users=users, allowed_chats=chats, admins=admins)


def test_empty_allowlists_let_everyone_in() -> None:
    assert policy().allows(123, 123)
    assert policy().open


def test_a_user_allowlist_keeps_out_everyone_else() -> None:
    gate = policy(users=frozenset({1}))
    assert (gate.allows(1, 1), gate.allows(2, 2)) == (True, False)


def test_an_allowlisted_group_lets_its_members_in_but_not_elsewhere() -> None:
    gate = policy(chats=frozenset({-100}))
    assert (gate.allows(2, -100), gate.allows(2, 2), gate.allows(2, -200)) == (True, False, False)


def test_admins_pass_every_allowlist() -> None:
    gate = policy(users=frozenset({1}), chats=frozenset({-100}), admins=frozenset({9}))
    assert gate.allows(9, -555)


def test_updates_without_a_user_are_refused_when_lists_are_set() -> None:
    assert not policy(users=frozenset({1})).allows(None, None)


def test_a_refused_user_is_told_at_most_once_a_minute() -> None:
    clock = FakeClock(0.0)
    gate = AccessPolicy(
        allowed_users=frozenset({1}), allowed_chats=frozenset(), admins=frozenset(), clock=clock
    )
    told = [gate.should_tell(2)]
    clock.now = REFUSAL_INTERVAL - 1
    told.append(gate.should_tell(2))
    told.append(gate.should_tell(3))
    clock.now = REFUSAL_INTERVAL + 0.5
    told.append(gate.should_tell(2))
    assert told == [True, False, True, True]


def test_the_refusal_names_the_users_id_and_the_setting() -> None:
    text = not_allowed_text(4242)
    assert "4242" in text
    assert "ALLOWED_USER_IDS" in text
