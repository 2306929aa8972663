"""A club's webhook endpoints (its hosts only): add, list with their delivery state, remove, and
read the deliveries given up. What is sent and how to check it: docs/webhooks.md."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, StringConstraints

from server.api.clubs import A_CLUB
from server.api.deps import Caller, RequestBody
from server.api.errors import BODY, errors
from server.api.events import IdPath
from server.state.webhooks import Endpoint
from server.webhooks import ClubWebhooks
from vocabulary.errors import ErrorCode

router = APIRouter(prefix="/api/clubs/{club_id}/webhooks", tags=["webhooks"])
A_HOST = (*A_CLUB, ErrorCode.FORBIDDEN)
A_WEBHOOK = (*A_HOST, ErrorCode.WEBHOOK_NOT_FOUND)


def club_webhooks(request: Request) -> ClubWebhooks:
    webhooks: ClubWebhooks = request.app.state.webhooks  # set by server/app.py
    return webhooks


Webhooks = Annotated[ClubWebhooks, Depends(club_webhooks)]


class WebhookIn(RequestBody):
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=2000)] = Field(
        description="where to POST: http:// or https://, reaching a public address"
    )


class WebhookOut(BaseModel):
    id: str
    url: str
    created_at: float
    queued: int = Field(description="events waiting to be delivered")
    delivered: int = Field(description="events delivered (a batch of listeners counts each event)")
    failed: int = Field(description="POSTs given up after every retry (listed under /failures)")
    dropped: int = Field(description="events not queued because the queue was full")
    attempts: int = Field(description="failed tries of the POST at the head of the queue")
    next_retry_at: float | None = Field(description="when it is tried again, while it is being retried")
    last_error: str | None
    last_delivered_at: float | None

    @classmethod
    def of(cls, endpoint: Endpoint) -> WebhookOut:
        return cls(
            id=endpoint.id, url=endpoint.url, created_at=endpoint.created_at, queued=endpoint.queued,
            delivered=endpoint.delivered, failed=endpoint.failed, dropped=endpoint.dropped,
            attempts=endpoint.attempts, next_retry_at=endpoint.next_at or None,
            last_error=endpoint.last_error or None, last_delivered_at=endpoint.last_at or None,
        )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="the signing secret (whsec_...), shown this once: keep it with the receiver")


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class Failure(BaseModel):
    id: str = Field(description="the webhook-id it was sent with")
    type: str
    at: float = Field(description="when it was given up")
    attempts: int
    error: str = Field(description="what the last try met: `HTTP 500`, `ConnectTimeout`, ...")
    body: dict[str, Any] = Field(description="the event as it was sent")


class FailureList(BaseModel):
    failures: list[Failure]


@router.post("", status_code=201, response_model=WebhookCreated, summary="Add a webhook",
             responses=errors(*A_HOST, *BODY, ErrorCode.TOO_MANY_WEBHOOKS))
async def add(club_id: IdPath, body: WebhookIn, caller: Caller, webhooks: Webhooks) -> WebhookCreated:
    """Have the club's events POSTed, signed, to a URL; the answer carries the signing secret, once."""
    endpoint = await webhooks.add(club_id, caller, body.url)
    return WebhookCreated(**WebhookOut.of(endpoint).model_dump(), secret=endpoint.secret)


@router.get("", response_model=WebhookList, summary="List a club's webhooks", responses=errors(*A_HOST))
async def listing(club_id: IdPath, caller: Caller, webhooks: Webhooks) -> WebhookList:
    """The club's endpoints and how their deliveries stand (no secrets)."""
    return WebhookList(webhooks=[WebhookOut.of(e) for e in await webhooks.listing(club_id, caller)])


@router.delete("/{webhook_id}", response_model=WebhookOut, summary="Remove a webhook", responses=errors(*A_WEBHOOK))
async def remove(club_id: IdPath, webhook_id: IdPath, caller: Caller, webhooks: Webhooks) -> WebhookOut:
    """Stop sending to the endpoint; what was queued for it is dropped. Answers it as it was."""
    return WebhookOut.of(await webhooks.remove(club_id, caller, webhook_id))


@router.get("/{webhook_id}/failures", response_model=FailureList, summary="List failed deliveries",
            responses=errors(*A_WEBHOOK))
async def failures(club_id: IdPath, webhook_id: IdPath, caller: Caller, webhooks: Webhooks) -> FailureList:
    """The last 100 POSTs given up after every retry, newest first, with what each met."""
    return FailureList(failures=[Failure(**f) for f in await webhooks.failures(club_id, caller, webhook_id)])
