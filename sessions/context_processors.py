from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from sessions import access


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {
        "nav_is_admin": access.is_clinic_admin(user),
        "nav_is_therapist": access.is_therapist(user),
        "nav_is_guardian": access.is_guardian(user),
    }
