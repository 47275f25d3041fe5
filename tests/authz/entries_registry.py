"""The emotion-model registry pages of the clinic console: clinic admins only, own clinic only."""

from __future__ import annotations

from typing import Any

from tests.authz.matrix import ANY_ADMIN, ANY_ADMIN_WRITES, LOGIN, OWN_ADMIN, Endpoint, each
from tests.conftest import Cast


def _version(cast: Cast) -> Any:
    """A registered (file-less) version of the cast's clinic, made once per test."""
    from analysis.models import EmotionModelVersion

    if "model_version" not in cast.extra:
        cast.extra["model_version"] = EmotionModelVersion.objects.create(
            clinic=cast.clinic,
            name="matrix-model",
            version="1",
            source="imported",
            kind="hf_audio_classification",
            labels=["neu"],
            label_map={"neu": "neutral"},
            location=f"{cast.clinic.pk}/missing",
            checksum="0" * 64,
        )
    return cast.extra["model_version"]


def _pending(cast: Cast) -> dict[str, Any]:
    """A pending import of the cast's admin (metadata only: enough for the mapping form)."""
    from analysis.registry.services import PendingImport

    if "pending" not in cast.extra:
        import uuid

        pending = PendingImport(
            token=str(uuid.uuid4()),
            clinic_id=str(cast.clinic.pk),
            actor_id=str(cast.admin.pk),
            name="pending-model",
            version="1",
            origin="m.zip",
            allow_pickle=False,
            labels=["neu", "xxx"],
            suggested_map={"neu": "neutral", "xxx": None},
            architecture="Wav2Vec2ForSequenceClassification",
            model_type="wav2vec2",
            sample_rate=16000,
            size_bytes=1000,
        )
        pending.save()
        cast.extra["pending"] = pending
    return {"token": cast.extra["pending"].token}


def _version_kwargs(cast: Cast) -> dict[str, Any]:
    return {"version_id": _version(cast).pk}


ENTRIES = [
    Endpoint("console_models", ANY_ADMIN),
    Endpoint("console_model_import", ANY_ADMIN),
    # No file: the form comes back with its errors.
    Endpoint(
        "console_model_import",
        ANY_ADMIN,
        method="post",
        data=lambda c: {"version": "1"},
        label="post",
    ),
    Endpoint("console_model_import_confirm", OWN_ADMIN, kwargs=_pending),
    Endpoint(
        "console_model_import_confirm",
        each(404, admin=302, anonymous=LOGIN),
        method="post",
        kwargs=_pending,
        data=lambda c: {"cancel": "1"},
        label="cancel",
    ),
    # Installs the shipped default, or explains why it cannot: a redirect either way.
    Endpoint("console_model_install_default", ANY_ADMIN_WRITES, method="post"),
    Endpoint("console_model_detail", OWN_ADMIN, kwargs=_version_kwargs),
    Endpoint("console_model_activate", OWN_ADMIN, kwargs=_version_kwargs),
    # The file-less version fails the integrity check: redirect with the reason.
    Endpoint(
        "console_model_activate",
        each(404, admin=302, anonymous=LOGIN),
        method="post",
        kwargs=_version_kwargs,
        label="post",
    ),
    Endpoint("console_model_retire", OWN_ADMIN, kwargs=_version_kwargs),
    Endpoint(
        "console_model_retire",
        each(404, admin=302, anonymous=LOGIN),
        method="post",
        kwargs=_version_kwargs,
        label="post",
    ),
    Endpoint(
        "console_model_restage",
        each(404, admin=302, anonymous=LOGIN),
        method="post",
        kwargs=_version_kwargs,
    ),
    Endpoint("console_model_try", OWN_ADMIN, kwargs=_version_kwargs),
    # The cast's recording is not analysed yet, so it is not offered: the form says so.
    Endpoint(
        "console_model_try",
        OWN_ADMIN,
        method="post",
        kwargs=_version_kwargs,
        data=lambda c: {"recording": str(c.recording.pk), "start_s": "0", "seconds": "10"},
        label="post",
    ),
]
