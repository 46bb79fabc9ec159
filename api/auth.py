"""Who may do what. Every request but the public ones (the intake form, its confirmation, the
customer's own page under /my/, which its signed link opens instead: api.customer_pages, health
and the OpenAPI schema) names an API key, as `Authorization: Bearer <key>` or, for a browser's
pages (never /api), the session whose id is in the HttpOnly cookie /login sets (store.sessions).

| role       | may                                                                  |
| ---------- | -------------------------------------------------------------------- |
| intake     | submit complaints (POST /api/complaints), nothing else               |
| agent      | submit; read and act on the complaints of its team, except reclassify |
| supervisor | all of that on every complaint; reclassify; the list and the reports |
| admin      | everything                                                           |
| auditor    | the client's: read its contracts' complaints, spot-check them; no act |

A key may be scoped to client contracts (`contracts = [..]` in the key file): it then submits
only to those, and every other contract's complaint is to it exactly as an unknown id (404, the
same body), so ids leak nothing. A key without `contracts` is provider level: every contract.

401: no key, or one the key file does not know. 403: a role or a team that may not. The error
names the rule; it never echoes the key. Routers that need a role get it at include time:

    app.include_router(report_routes(...), dependencies=SUPERVISOR_ONLY)
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.errors import error_response
from api.keys import KeyRing, Principal, Role
from api.rendering import TEMPLATES
from api.web_security import forbidden, same_origin
from domain.access import Forbidden, NotServed, check_access
from domain.state import ComplaintState
from engine.service import ComplaintNotFound, ComplaintService
from store.sessions import Sessions

log = structlog.get_logger(__name__)

COOKIE = "complaints_session"  # a session's id (store.sessions), never the key
API = "/api/"  # bearer keys only, never the cookie
MAX_KEY_LENGTH = 200  # real keys are 60 characters; anything longer is refused unread
_LOCAL_PATH = re.compile(r"/(?![/\\])[!-~]{0,2000}")

_bearer = HTTPBearer(auto_error=False, description="An API key: `complaints keys new`.")


class Denied(Exception):
    """A request the keys do not allow: 401 (who are you?) or 403 (you may not)."""

    def __init__(self, status: int, message: str, field: str, rule: str) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.rule = status, message, field, rule


def install_auth(app: FastAPI, keys: KeyRing, sessions: Sessions) -> None:
    app.state.api_keys, app.state.sessions = keys, sessions

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        # The workflow's validator refused the key's holder (domain.access): 403 as at the door.
        return await _denied(request, Denied(403, str(exc), exc.field, exc.rule))

    @app.exception_handler(Denied)
    async def _denied(request: Request, exc: Denied) -> Response:
        principal = getattr(request.state, "principal", None)
        log.info(
            "request.denied",
            status=exc.status,
            rule=exc.rule,
            path=request.url.path,
            key_id=principal.key_id if principal else None,
        )
        if _in_schema(request) or request.url.path.startswith("/codec/"):  # programs
            detail = [{"field": exc.field, "rule": exc.rule, "message": exc.message}]
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            return error_response(exc.status, exc.message, detail, headers=headers)
        # A page: the login form in place, so a browser can sign in (again) and come back.
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return login_page(
            request, exc.status, message=exc.message, next=back if request.method == "GET" else ""
        )


def _in_schema(request: Request) -> bool:
    """An operation of the HTTP API, /api/... or another its schema documents (/reports/sent):
    refused in JSON, as documented. A page is refused with the sign-in form."""
    route = request.scope.get("route")
    return request.url.path.startswith(API) or getattr(route, "include_in_schema", False)


async def principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The key's holder, or 401. A bearer key wins over the cookie (a client means it). /api
    takes the bearer key only: a browser sends its cookie by itself, with whatever request a
    page makes it send, so a session authorizes the pages (whose posts are checked for their
    origin) and never an API call. The cookie is read here rather than declared as a security
    scheme, so the OpenAPI schema names only what the API takes: the bearer key."""
    cookie = request.cookies.get(COOKIE)
    if bearer:
        found = _holder_of_key(request, bearer.credentials)
    elif cookie and not request.url.path.startswith(API):
        found = await _holder_of_session(request, cookie)
    else:
        how = "" if request.url.path.startswith(API) else " or sign in at /login"
        raise Denied(
            401,
            f"an API key is required: send 'Authorization: Bearer <key>'{how}",
            "Authorization",
            "missing",
        )
    request.state.principal = found
    return found


def _holder_of_key(request: Request, key: str) -> Principal:
    keys: KeyRing = request.app.state.api_keys
    found = keys.authenticate(key) if len(key) <= MAX_KEY_LENGTH else None
    if found is None:
        raise Denied(401, "unknown or revoked API key", "Authorization", "unknown_key")
    return found


async def _holder_of_session(request: Request, session_id: str) -> Principal:
    """The holder of the key a session was opened with, while both the session (not ended, not
    expired) and the key (still in the key file) stand."""
    sessions: Sessions = request.app.state.sessions
    key_id = await run_in_threadpool(sessions.key_of, session_id, datetime.now(UTC))
    found = request.app.state.api_keys.principal_of(key_id) if key_id else None
    if found is None:
        raise Denied(401, "signed out or session expired: sign in again", COOKIE, "session_ended")
    return found


async def holder_if_any(request: Request) -> Principal | None:
    """The key's holder, or None instead of 401: for public answers that say more to staff.
    The schemes are called here, not declared as dependencies, so the schema keeps the route
    public (OpenAPI has no "optional" security that clients and fuzzers agree on)."""
    try:
        return await principal(request, await _bearer(request))
    except Denied:
        return None


def permits(who: Principal, *roles: Role) -> bool:
    return who.role is Role.ADMIN or who.role in roles


def require(*roles: Role, to: str):
    """A dependency: the key's holder when its role is one of `roles` (admin always is)."""

    async def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not permits(who, *roles):
            needed = " or ".join([*roles, Role.ADMIN])
            raise Denied(
                403,
                f"{to} needs role {needed}; key {who.name!r} has role {who.role}",
                "role",
                "role_forbidden",
            )
        return who

    return check


Submitter = Annotated[
    Principal, Depends(require(Role.INTAKE, Role.AGENT, Role.SUPERVISOR, to="submitting"))
]
Staff = Annotated[
    Principal, Depends(require(Role.AGENT, Role.SUPERVISOR, to="reading or acting on complaints"))
]
# Reading a complaint's state and events: staff, and the client's auditor (its contracts only,
# by complaint_for), who reads but never acts.
Reader = Annotated[
    Principal,
    Depends(require(Role.AGENT, Role.SUPERVISOR, Role.AUDITOR, to="reading complaints")),
]
# The reports: per endpoint (Supervisor) and per router at include time (SUPERVISOR_ONLY), so an
# endpoint added later is covered too. One callable: FastAPI runs it once per request.
_reports = require(Role.SUPERVISOR, to="reading the reports")
Supervisor = Annotated[Principal, Depends(_reports)]
SUPERVISOR_ONLY = [Depends(_reports)]


async def complaint_for(
    who: Principal, service: ComplaintService, complaint_id: str
) -> ComplaintState | None:
    """Refuse unless `who` may read the complaint; the one place for who sees which complaint
    (actions: the workflow's validator holds the author to the same rule, domain.access). A key
    scoped to contracts, and an agent (its team), need the state to decide, which is returned
    (None when no read was needed). An unknown complaint, and one of a contract the key does not
    serve, raise ComplaintNotFound (404); another team's, Forbidden (403)."""
    if permits(who, Role.SUPERVISOR) and who.contracts is None:
        return None
    state = await service.state(complaint_id)
    try:
        check_access(who.author, state)
    except NotServed:
        raise ComplaintNotFound(complaint_id) from None
    return state


def intake_contract(who: Principal, named: str | None) -> str | None:
    """The contract a submission by `who` goes to: the one it names, else the key's only
    contract; None: the deployment's default (a provider-level key naming none). Whether the
    deployment serves it is ContractBook.for_intake's rule (422), not this one."""
    if who.contracts is None:
        return named
    served = ", ".join(sorted(who.contracts))
    if named is None:
        if len(who.contracts) == 1:
            return next(iter(who.contracts))
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "contract"),
                    "type": "contract_required",
                    "msg": f"key {who.name!r} serves several contracts ({served}): name one",
                }
            ]
        )
    if named not in who.contracts:
        raise Denied(
            403,
            f"key {who.name!r} submits only to contracts {served}, not {named!r}",
            "contract",
            "contract_forbidden",
        )
    return named


def login_routes() -> APIRouter:
    """/login takes a key and opens a server-side session (store.sessions) kept in an HttpOnly,
    SameSite=Strict cookie (never readable by scripts, never sent on another site's requests;
    Secure over HTTPS, a trusted proxy's included: api.web_security). The cookie holds the
    session's random id, never the key. /logout ends the session."""
    router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)

    @router.get("/login")
    async def login_form(request: Request, next: str = "") -> Response:
        await _note_signed_in(request)
        return login_page(request, next=_safe_next(next))

    @router.post("/login")
    async def login(request: Request) -> Response:
        if not same_origin(request):
            return forbidden()
        form = await request.form()
        key, back = str(form.get("key", "")).strip(), _safe_next(str(form.get("next", "")))
        keys: KeyRing = request.app.state.api_keys
        found = keys.authenticate(key) if 0 < len(key) <= MAX_KEY_LENGTH else None
        if found is None:
            return login_page(request, 401, message="unknown or revoked API key", next=back)
        sessions: Sessions = request.app.state.sessions
        session_id = await run_in_threadpool(sessions.open, found.key_id, datetime.now(UTC))
        # Supervisors watch every complaint (the dashboard); an agent works its own queue.
        landing = "/supervisor" if permits(found, Role.SUPERVISOR) else "/queue"
        landing = landing if permits(found, Role.AGENT, Role.SUPERVISOR) else "/login"
        response = RedirectResponse(back or landing, status_code=303)
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=int(sessions.lifetime.total_seconds()),
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        if not same_origin(request):
            return forbidden()
        sessions: Sessions = request.app.state.sessions
        await run_in_threadpool(sessions.end, request.cookies.get(COOKIE, ""))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(
            COOKIE,
            path="/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    return router


def login_page(request: Request, status: int = 200, **context) -> Response:
    who = getattr(request.state, "principal", None)
    context = {"message": "", "next": "", "user": who} | context
    return TEMPLATES.TemplateResponse(request, "login.html", context, status_code=status)


async def _note_signed_in(request: Request) -> None:
    """Note the session's holder, if any, for the page to show; never refuses."""
    session_id = request.cookies.get(COOKIE, "")
    with contextlib.suppress(Denied):
        if session_id:
            request.state.principal = await _holder_of_session(request, session_id)


def _safe_next(value: str) -> str:
    """Only a path on this site: `//host` or a scheme would make /login an open redirect."""
    return value if _LOCAL_PATH.fullmatch(value) else ""
