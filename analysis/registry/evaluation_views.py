"""Console page that starts a model evaluation in the background and shows its progress.

Clinic admins only (404 for everyone else, as the rest of the registry). The page works
without JavaScript (reload to see progress); ``static/js/model_evaluation.js`` polls the same
URL with ``?format=json`` and updates the progress bar.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from analysis.registry import evaluation
from sessions import access


class EvaluationForm(forms.Form):
    dataset = forms.ChoiceField(
        label="Labelled audio",
        help_text="RAVDESS-named clips on the server (the operator configures which folders).",
    )
    folds = forms.TypedChoiceField(
        label="Speaker folds",
        coerce=int,
        choices=[(0, "None: pooled figures only"), (2, "2 folds"), (5, "5 folds")],
        initial=0,
        help_text="Also the spread over speaker-disjoint folds (the clips are scored once).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["dataset"].choices = evaluation.data_choices()  # type: ignore[attr-defined]


def _job_json(state: dict[str, Any] | None) -> dict[str, Any]:
    if state is None:
        return {"status": "none"}
    keys = ("status", "stage", "progress", "done", "total", "data", "folds", "error")
    out = {key: state.get(key) for key in keys}
    out["finished_at"] = state.get("finished_at")
    out["active"] = evaluation.is_active(state)
    return out


@login_required
@require_http_methods(["GET", "POST"])
def model_evaluate(request: HttpRequest, version_id: str) -> HttpResponse:
    version = access.get_version_for_admin(request.user, version_id)
    state = evaluation.job(version)
    if request.method == "GET" and request.GET.get("format") == "json":
        return JsonResponse(_job_json(state))
    form = EvaluationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            evaluation.evaluation_start(
                version=version,
                actor=request.user,
                data=form.cleaned_data["dataset"],
                folds=form.cleaned_data["folds"],
                request=request,
            )
        except evaluation.EvaluationRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                "Evaluation started. It runs in the background: you can leave this page; the "
                "figures appear on the model's page when it finishes.",
            )
            return redirect("console_model_evaluate", version_id=version.pk)
    return render(
        request,
        "console/models_evaluate.html",
        {
            "version": version,
            "form": form,
            "job": _job_json(state) if state else None,
            "has_data": bool(form.fields["dataset"].choices),  # type: ignore[attr-defined]
            "status_url": reverse("console_model_evaluate", args=[version.pk]) + "?format=json",
        },
    )
