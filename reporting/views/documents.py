"""Pages of plans read from their documents: the planner uploads one, then reviews the draft —
each item beside the words it was read from — corrects it and confirms."""

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from healthplans.selectors import signed_in_user, tenant_list
from healthplans.workflow import Invalid
from plans.models import Plan
from reporting.documents import (
    plan_document_confirm,
    plan_document_get_or_404,
    plan_document_list,
    plan_document_upload,
    planner_units,
)


@login_required
@require_http_methods(["GET", "POST"])
def plan_document_upload_view(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request.user)
    tenants = tenant_list(fetched_by=user).filter(id__in=planner_units(user).values("tenant_id"))
    upload = request.FILES.get("file") if request.method == "POST" else None
    error = ""
    if upload is not None:
        # The form offers a choice only to a planner of several tenants; one named out of reach (or
        # a user who plans for none) is the form's error, and nothing is kept.
        chosen = request.POST.get("tenant", "")
        tenant = tenants.filter(pk=int(chosen)).first() if chosen.isdigit() else tenants.first()
        if tenant is None:
            error = _("Not found among what you may see.")
        else:
            document = plan_document_upload(tenant=tenant, name=upload.name or "", content=upload.read(), by=user)
            return redirect("plan-document-review", pk=document.pk)
    documents = plan_document_list(fetched_by=user)[:20]
    context = {"tenants": tenants, "documents": documents, "error": error}
    return render(request, "reporting/plan_document_upload.html", context, status=400 if error else 200)


# The draft's header fields the review page lists, under the plan's own labels.
PLAN_FIELDS = [
    *("kind", "document_number", "issuer", "issuer_parent", "place", "issued_on", "issued_text", "title"),
    *("start_year", "end_year", "vision_year", "signer_authority", "signer_title", "signer_name"),
    "reporting_frequencies",
]


@login_required
@require_http_methods(["GET", "POST"])
def plan_document_review_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in_user(request.user)
    document = plan_document_get_or_404(fetched_by=user, pk=pk)
    error = ""
    draft_text = json.dumps(document.draft, ensure_ascii=False, indent=1)
    if request.method == "POST":
        draft_text = request.POST.get("draft", "")
        try:
            draft = json.loads(draft_text)
            plan = plan_document_confirm(document=document, draft=draft, by=user)
        except json.JSONDecodeError:
            error = _("The corrected draft is not valid JSON.")
        except Invalid as refusal:
            error = refusal.message
        else:
            return redirect("plan-detail", slug=plan.slug)
    head = document.draft.get("plan") or {}
    labels = {field.name: field.verbose_name for field in Plan._meta.fields}
    plan_fields = [(labels[name], head[name]) for name in PLAN_FIELDS if name in head]
    context = {
        "document": document,
        "draft": document.draft,
        "plan_fields": plan_fields,
        "checks": document.checks,
        "draft_text": draft_text,
        "error": error,
    }
    return render(request, "reporting/plan_document_review.html", context)
