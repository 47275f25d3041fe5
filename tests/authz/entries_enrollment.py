from __future__ import annotations

from tests.authz.matrix import LOGIN, Endpoint, each

# Only therapists have a voice to enrol; everyone else does not know the page exists.
ENTRIES = [
    Endpoint("voice_enrollment", each(404, therapist=200, other_therapist=200, anonymous=LOGIN)),
    Endpoint(
        "voice_enrollment",
        each(404, therapist=302, other_therapist=302, anonymous=LOGIN),
        method="post",
        data=lambda c: {"action": "forget"},
        label="forget",
    ),
]
