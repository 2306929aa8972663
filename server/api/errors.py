"""REST errors: the same stable codes as the websocket, as `{"error": {"code", "message"}}`."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from signaling.errors import DropinError, ErrorCode

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
}


def error_body(code: ErrorCode, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code.value, "message": message}}


def install(app: FastAPI) -> None:
    @app.exception_handler(DropinError)
    async def dropin_error(_: Request, exc: DropinError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_code=STATUS.get(exc.code, 400))

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
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = ErrorCode.NOT_FOUND if exc.status_code == 404 else ErrorCode.INVALID_MESSAGE
        message = "not found" if exc.status_code == 404 else str(exc.detail)
        return JSONResponse(error_body(code, message), status_code=exc.status_code)
