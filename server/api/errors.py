"""REST errors: the same stable codes as the websocket, as `{"error": {"code", "message"}}`."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException

from server.state.storage import refusal
from vocabulary.errors import DropinError, ErrorCode

NOT_FOUND_PAGE = Path(__file__).resolve().parents[2] / "web" / "404.html"

STATUS = {
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.TOKEN_EXPIRED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.ROOM_NOT_FOUND: 404,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.ROOM_ENDED: 409,
    ErrorCode.INVALID_MESSAGE: 422,
    ErrorCode.BAD_JSON: 400,
    ErrorCode.INTERNAL: 500,
    ErrorCode.BUSY: 503,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.CLUB_NOT_FOUND: 404,
    ErrorCode.EVENT_NOT_FOUND: 404,
    ErrorCode.INVALID_TIMEZONE: 422,
    ErrorCode.UNBOUNDED_RECURRENCE: 422,
    ErrorCode.TOO_MANY_OCCURRENCES: 422,
    ErrorCode.END_BEFORE_START: 422,
    ErrorCode.NOT_AN_OCCURRENCE: 422,
    ErrorCode.NOT_OPEN_YET: 409,
    ErrorCode.OCCURRENCE_OVER: 409,
    ErrorCode.INVITE_NOT_FOUND: 404,
    ErrorCode.INVITE_EXPIRED: 410,
    ErrorCode.INVITE_REVOKED: 410,
    ErrorCode.INVITE_USED_UP: 410,
    ErrorCode.WEBHOOK_NOT_FOUND: 404,
    ErrorCode.RECORDING_NOT_FOUND: 404,
    ErrorCode.TOO_MANY_WEBHOOKS: 409,
    ErrorCode.RATE_LIMITED: 429,
}


SIGNED_IN = (ErrorCode.UNAUTHORIZED, ErrorCode.TOKEN_EXPIRED)  # a route that reads `Authorization: Bearer`
STORE = (ErrorCode.BUSY, ErrorCode.UNAVAILABLE)  # a route that reads or writes Redis
BODY = (ErrorCode.BAD_JSON, ErrorCode.INVALID_MESSAGE)  # a route that takes a JSON body


class ErrorDetail(BaseModel):
    code: str = Field(description="a stable code (the same as the websocket's); the response's description lists them")
    message: str = Field(description="what went wrong, in words meant for people")


class ErrorBody(BaseModel):
    """Every REST error's body."""

    error: ErrorDetail


def status_of(code: ErrorCode) -> int:
    return STATUS.get(code, 400)


def error_body(code: ErrorCode, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code.value, "message": message}}


def errors(*codes: ErrorCode) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: the error codes it can answer, under their statuses, with the body they come in."""
    by_status: dict[int, list[ErrorCode]] = {}
    for code in dict.fromkeys(codes):
        by_status.setdefault(status_of(code), []).append(code)
    return {
        status: {
            "model": ErrorBody,
            "description": f"{HTTPStatus(status).phrase}: " + ", ".join(f"`{code.value}`" for code in group),
        }
        for status, group in sorted(by_status.items())
    }


def install(app: FastAPI) -> None:
    @app.exception_handler(DropinError)
    async def dropin_error(_: Request, exc: DropinError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_code=status_of(exc.code))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(error.get("type") == "json_invalid" for error in errors):
            return JSONResponse(error_body(ErrorCode.BAD_JSON, "the body is not valid JSON"), status_code=400)
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'][1:]) or 'body'}: {error['msg']}" for error in errors[:3]
        )
        return JSONResponse(error_body(ErrorCode.INVALID_MESSAGE, problems), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404 and _wants_page(request):
            return FileResponse(NOT_FOUND_PAGE, status_code=404)
        code = ErrorCode.NOT_FOUND if exc.status_code == 404 else ErrorCode.INVALID_MESSAGE
        message = "not found" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse(error_body(code, message), status_code=exc.status_code)

    @app.exception_handler(RedisError)
    async def storage_error(_: Request, exc: RedisError) -> JSONResponse:
        error = refusal(exc)
        if error is None:
            raise exc  # a fault, not an outage: the handler below
        return JSONResponse(error_body(error.code, error.message), status_code=STATUS[error.code])

    @app.exception_handler(Exception)
    async def fault(_: Request, exc: Exception) -> JSONResponse:
        """Any other fault: the documented body (Starlette then re-raises it for the server's log)."""
        return JSONResponse(error_body(ErrorCode.INTERNAL, "something went wrong on the server"), status_code=500)


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not the API, and HTML is what it accepts)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")
