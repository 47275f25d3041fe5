"""Who acts, as a type: the portal's user model, or the anonymous visitor a request may carry.

``Actor`` is what ``request.user`` is, and what the access predicates and the services take
(``Actor | None`` where a worker or a command acts without a person). Use these instead of
``Any`` for users and actors.
"""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser

from sessions.models.accounts import User

Actor: TypeAlias = User | AnonymousUser


def signed_in(actor: Actor | None) -> User | None:
    """The person behind ``actor`` (for a ``created_by``-style column), or None for an
    anonymous visitor, a worker or a command. Every signed-in user is a ``User``."""
    return actor if isinstance(actor, User) else None


__all__ = ["Actor", "User", "signed_in"]
