"""The review workflow: each move of an asset's status is one service here, under a row lock,
with its role check, a Review row, an audit event, and a notice sent after commit.

    draft ──submit──▶ in_review ──approve (last stage)──▶ approved ──archive──▶ archived
                          │  └─reject──▶ rejected          ▲
                          └─request changes──▶ changes_requested ──submit──┘(back to in_review)

A project may define ordered approval stages; approving an earlier stage moves the review to the
next one, and only the last stage's approval makes the asset `approved`. A rejection or a request
for changes at any stage ends the review."""

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q, QuerySet

from config.errors import ApplicationError
from tenants.models import ApiKey, Membership, Role, Tenant
from tenants.selectors import actor_role
from tenants.services import Actor, audit_event_record
from tenants.webhooks import webhook_event_emit

from .models import ApprovalStage, Asset, Review

Status = Asset.Status
Decision = Review.Decision
BULK_MAX = 100
# A stage's named members decide it while they hold this role: demoted below it, or removed, they no longer do.
NAMED_MEMBER_ROLE = Role.APPROVER


@dataclass(frozen=True)
class Stage:
    position: int  # 0-based place in the project's order
    name: str
    role: str
    member_ids: frozenset[int]  # when not empty, only these users may decide here

    def allows(self, *, role: str | None, actor: Actor) -> bool:
        """`role` is the actor's role in the tenant now (None for someone who is no longer a member)."""
        if self.member_ids:
            named = isinstance(actor, AbstractBaseUser) and actor.pk in self.member_ids
            return named and Role.at_least(role, NAMED_MEMBER_ROLE)
        return Role.at_least(role, self.role)

    def deciders(self, tenant: Tenant) -> QuerySet[Membership]:
        """The memberships whose people may decide this stage now, by the same rule as `allows`."""
        minimum = NAMED_MEMBER_ROLE if self.member_ids else self.role
        members = Membership.objects.filter(tenant=tenant, role__in=Role.at_or_above(minimum))
        return members.filter(user_id__in=self.member_ids) if self.member_ids else members


DEFAULT_STAGE = Stage(position=0, name="Approval", role=Role.APPROVER, member_ids=frozenset())


def approval_stages(project) -> list[Stage]:
    """A project's stages in order; one stage for approvers when it defines none."""
    rows = ApprovalStage.objects.filter(project=project).prefetch_related("members").order_by("position")
    stages = [
        Stage(position=i, name=row.name, role=row.role, member_ids=frozenset(m.pk for m in row.members.all()))
        for i, row in enumerate(rows)
    ]
    return stages or [DEFAULT_STAGE]


def current_stage(asset: Asset, stages: list[Stage]) -> Stage:
    """The stage an asset in review waits at."""
    return stages[min(asset.review_stage or 0, len(stages) - 1)]


def four_eyes_own(actor: Actor) -> Q:
    """The assets that count as this actor's own under four-eyes: made by the person — in person, or
    through any API key they own — or through this very key. A key's owner is the member who made it,
    so a key, its owner and the owner's other keys are one pair of eyes; a key without an owner is its own."""
    if isinstance(actor, ApiKey):
        person_id, key_id = actor.created_by_id, actor.pk
    elif isinstance(actor, AbstractBaseUser):
        person_id, key_id = actor.pk, None
    else:
        return Q(pk__in=[])
    own = Q(job__requested_by_key_id=key_id) if key_id else Q(pk__in=[])
    if person_id:
        own |= (
            Q(created_by_id=person_id)
            | Q(job__requested_by_user_id=person_id)
            | Q(job__requested_by_key__created_by_id=person_id)
        )
    return own


def asset_decision_refusal(
    *, tenant: Tenant, asset: Asset, actor: Actor, move: str, stages: list[Stage] | None = None
) -> str | None:
    """Why this actor may not make `move` (approve, reject or request changes) on an asset in review
    now, or None when they may: the current stage's role or named members, and for approvals the
    tenant's four-eyes rule. The one place these are decided: services, pages and queues ask here."""
    stages = stages if stages is not None else approval_stages(asset.project)
    stage = current_stage(asset, stages)
    if not stage.allows(role=actor_role(tenant=tenant, actor=actor), actor=actor):
        if stage.member_ids:
            return f"The {stage.name} stage is decided by its named members (while they are {NAMED_MEMBER_ROLE}s)."
        return f"The {stage.name} stage is decided by the {stage.role} role or higher."
    if move == "approve" and tenant.four_eyes_approval:
        if Asset.objects.filter(pk=asset.pk).filter(four_eyes_own(actor)).exists():
            return "Four-eyes approval is on: the asset's creator (or a key they own) may not approve it."
    return None


class TransitionRefused(ApplicationError):
    """The asset is not in a state this move starts from: 409 with the state it is in."""

    def __init__(self, asset: Asset, move: str):
        super().__init__("invalid_transition", f"Cannot {move} an asset that is {asset.status}.", status_code=409)
        self.extra = {"status": asset.status}


def _locked(tenant: Tenant, asset_id) -> Asset:
    asset = Asset.objects.for_tenant(tenant).select_for_update(of=("self",)).filter(pk=asset_id).first()
    if asset is None:
        raise ApplicationError("not_found", "No such asset.", status_code=404)
    return asset


def _forbid(message: str) -> ApplicationError:
    return ApplicationError("permission_denied", message, status_code=403)


def _record(*, asset: Asset, actor: Actor, decision: str, comment: str, stage: Stage | None, verb: str) -> Review:
    review = Review(
        asset=asset,
        reviewer=actor if isinstance(actor, AbstractBaseUser) else None,
        reviewer_key=actor if isinstance(actor, ApiKey) else None,
        decision=decision,
        comment=comment.strip(),
        stage=stage.position if stage else None,
        stage_name=stage.name if stage else "",
    )
    review.full_clean()
    review.save()
    audit_event_record(
        tenant=asset.tenant, actor=actor, verb=verb, target=asset,
        data={"status": asset.status, "stage": review.stage_name, "comment": review.comment},
    )  # fmt: skip
    if verb != "asset.approved" or asset.status == Status.APPROVED:  # passing one stage is not the asset approved
        webhook_event_emit(tenant=asset.tenant, event=verb, data=lambda: _event_data(asset, review))
    transaction.on_commit(lambda: _notify(review.pk))
    return review


def _event_data(asset: Asset, review: Review) -> dict:
    """What the tenant's webhooks hear of a review move."""
    return {
        "asset": {"id": str(asset.pk), "status": asset.status, "project": str(asset.project_id), "title": asset.title,
                  "job": asset.job_id, "tags": asset.tags},
        "review": {"id": review.pk, "decision": review.decision, "stage": review.stage_name, "comment": review.comment,
                   "reviewer": review.reviewer.email if review.reviewer else None,
                   "reviewer_api_key": review.reviewer_key.uuid if review.reviewer_key_id else None, "at": review.at},
    }  # fmt: skip


def _notify(review_id: int) -> None:
    from .tasks import review_notify

    review_notify.delay(review_id)


def _set_status(asset: Asset, status: str, *, review_stage: int | None = None) -> None:
    asset.status = status
    asset.review_stage = review_stage
    asset.save(update_fields=["status", "review_stage", "updated_at"])


@transaction.atomic
def asset_submit(*, tenant: Tenant, asset_id, actor: Actor, comment: str = "") -> Asset:
    """Send a draft (or an asset sent back for changes) to its project's first approval stage."""
    asset = _locked(tenant, asset_id)
    if not Role.at_least(actor_role(tenant=tenant, actor=actor), Role.CREATOR):
        raise _forbid("Submitting for review needs the creator role or higher in this tenant.")
    if asset.status not in (Status.DRAFT, Status.CHANGES_REQUESTED):
        raise TransitionRefused(asset, "submit")
    first = approval_stages(asset.project)[0]
    _set_status(asset, Status.IN_REVIEW, review_stage=first.position)
    _record(asset=asset, actor=actor, decision=Decision.SUBMITTED, comment=comment, stage=first, verb="asset.submitted")
    return asset


def _deciding_stage(tenant: Tenant, asset: Asset, actor: Actor, move: str) -> tuple[Stage, list[Stage]]:
    """The stage that decides now, checked against the actor: its role or named members, and the
    tenant's four-eyes rule for approvals."""
    if asset.status != Status.IN_REVIEW:
        raise TransitionRefused(asset, move)
    stages = approval_stages(asset.project)
    refusal = asset_decision_refusal(tenant=tenant, asset=asset, actor=actor, move=move, stages=stages)
    if refusal:
        raise _forbid(refusal)
    return current_stage(asset, stages), stages


@transaction.atomic
def asset_approve(*, tenant: Tenant, asset_id, actor: Actor, comment: str = "") -> Asset:
    """Approve at the current stage: the review moves to the next stage, or, after the last, the
    asset is approved."""
    asset = _locked(tenant, asset_id)
    stage, stages = _deciding_stage(tenant, asset, actor, "approve")
    if stage.position + 1 < len(stages):
        _set_status(asset, Status.IN_REVIEW, review_stage=stage.position + 1)
    else:
        _set_status(asset, Status.APPROVED)
    _record(asset=asset, actor=actor, decision=Decision.APPROVED, comment=comment, stage=stage, verb="asset.approved")
    return asset


def _end_review(tenant: Tenant, asset_id, actor: Actor, comment: str, *, move: str, status: str, decision: str,
                verb: str) -> Asset:  # fmt: skip
    """A decision at the current stage that ends the review, whatever stages remain."""
    asset = _locked(tenant, asset_id)
    stage, _ = _deciding_stage(tenant, asset, actor, move)
    _set_status(asset, status)
    _record(asset=asset, actor=actor, decision=decision, comment=comment, stage=stage, verb=verb)
    return asset


@transaction.atomic
def asset_reject(*, tenant: Tenant, asset_id, actor: Actor, comment: str = "") -> Asset:
    return _end_review(tenant, asset_id, actor, comment, move="reject", status=Status.REJECTED,
                       decision=Decision.REJECTED, verb="asset.rejected")  # fmt: skip


@transaction.atomic
def asset_request_changes(*, tenant: Tenant, asset_id, actor: Actor, comment: str = "") -> Asset:
    return _end_review(tenant, asset_id, actor, comment, move="request changes to", status=Status.CHANGES_REQUESTED,
                       decision=Decision.CHANGES_REQUESTED, verb="asset.changes_requested")  # fmt: skip


@transaction.atomic
def asset_archive(*, tenant: Tenant, asset_id, actor: Actor, comment: str = "") -> Asset:
    """Retire an approved asset; it keeps its history."""
    asset = _locked(tenant, asset_id)
    if not Role.at_least(actor_role(tenant=tenant, actor=actor), Role.APPROVER):
        raise _forbid("Archiving needs the approver role or higher in this tenant.")
    if asset.status != Status.APPROVED:
        raise TransitionRefused(asset, "archive")
    _set_status(asset, Status.ARCHIVED)
    _record(asset=asset, actor=actor, decision=Decision.ARCHIVED, comment=comment, stage=None, verb="asset.archived")
    return asset


TRANSITIONS = {
    "submit": asset_submit,
    "approve": asset_approve,
    "reject": asset_reject,
    "request-changes": asset_request_changes,
    "archive": asset_archive,
}


class BulkFailed(ApplicationError):
    def __init__(self, action: str, total: int, errors: list[dict]):
        super().__init__(
            "bulk_failed",
            f"{len(errors)} of {total} assets could not {action}; nothing was changed.",
            status_code=409 if all(e["status"] == 409 for e in errors) else 400,
        )
        self.extra = {"errors": errors}


@transaction.atomic
def asset_bulk_transition(*, tenant: Tenant, asset_ids: list, action: str, actor: Actor, comment: str = "") -> list:
    """One move on many assets, all or nothing: if any asset refuses, none moves, and every refusal
    is reported with its asset id."""
    if not isinstance(action, str) or action not in TRANSITIONS:
        message = f"One of: {', '.join(TRANSITIONS)}."
        raise ApplicationError("invalid", f"action: {message}", fields={"action": [message]})
    if not isinstance(asset_ids, list) or not 1 <= len(asset_ids) <= BULK_MAX:
        message = f"Give a list of 1 to {BULK_MAX} asset ids."
        raise ApplicationError("invalid", f"ids: {message}", fields={"ids": [message]})
    ids = list(dict.fromkeys(str(i) for i in asset_ids))
    moved, errors = [], []
    for asset_id in sorted(ids):  # one fixed lock order, so concurrent bulk moves cannot deadlock
        try:
            with transaction.atomic():
                moved.append(TRANSITIONS[action](tenant=tenant, asset_id=_uuid(asset_id), actor=actor, comment=comment))
        except ApplicationError as error:
            errors.append({"id": asset_id, "code": error.code, "message": error.message, "status": error.status_code})
    if errors:
        raise BulkFailed(action, len(ids), errors)
    return sorted(moved, key=lambda asset: ids.index(str(asset.pk)))


def _uuid(value):
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


COMMENT_MAX = 5000


@transaction.atomic
def asset_comment(*, tenant: Tenant, asset_id, actor: Actor, comment: str) -> Review:
    """A remark on an asset, kept in its review history; its status does not move. Creators and
    above may comment: viewers only look, as everywhere else in Atelier."""
    asset = _locked(tenant, asset_id)
    if not Role.at_least(actor_role(tenant=tenant, actor=actor), Role.CREATOR):
        raise _forbid("Commenting needs the creator role or higher in this tenant.")
    text = comment.strip() if isinstance(comment, str) else ""
    if not text or len(text) > COMMENT_MAX:
        message = f"Write a comment of 1 to {COMMENT_MAX} characters."
        raise ApplicationError("invalid", f"comment: {message}", fields={"comment": [message]})
    review = Review(
        asset=asset,
        reviewer=actor if isinstance(actor, AbstractBaseUser) else None,
        reviewer_key=actor if isinstance(actor, ApiKey) else None,
        decision=Decision.COMMENTED,
        comment=text,
    )
    review.full_clean()
    review.save()
    audit_event_record(tenant=tenant, actor=actor, verb="asset.commented", target=asset,
                       data={"status": asset.status, "comment": text})  # fmt: skip
    return review


def asset_moves(*, tenant: Tenant, asset: Asset, actor: Actor) -> set[str]:
    """The moves (TRANSITIONS names) this actor could make on the asset now, by the same rules the
    services check: for pages to offer only the buttons that would work. The services stay the rule."""
    role = actor_role(tenant=tenant, actor=actor)
    moves = set()
    if asset.status in (Status.DRAFT, Status.CHANGES_REQUESTED) and Role.at_least(role, Role.CREATOR):
        moves.add("submit")
    if asset.status == Status.APPROVED and Role.at_least(role, Role.APPROVER):
        moves.add("archive")
    if asset.status == Status.IN_REVIEW:
        stages = approval_stages(asset.project)
        if asset_decision_refusal(tenant=tenant, asset=asset, actor=actor, move="reject", stages=stages) is None:
            moves |= {"reject", "request-changes"}
        if asset_decision_refusal(tenant=tenant, asset=asset, actor=actor, move="approve", stages=stages) is None:
            moves.add("approve")
    return moves
