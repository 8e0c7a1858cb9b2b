"""Sign-in (password, MFA, enrolment, notice), sign-out, and the user's own account pages."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select

from shouhu.accounts import authentication, mfa, tokens, users
from shouhu.accounts.authentication import NextStep
from shouhu.accounts.models import ApiToken, User, WebSession
from shouhu.accounts.roles import Permission
from shouhu.core.errors import AuthenticationError, DomainError, ValidationFailedError
from shouhu.core.i18n import gettext
from shouhu.core.settings import Settings
from shouhu.web.deps import (
    Db,
    Flow,
    PagePermission,
    SettingsDep,
    SignedIn,
    client_address,
    session_cookie_name,
)
from shouhu.web.redirects import safe_next
from shouhu.web.templating import render

router = APIRouter(include_in_schema=False)

Self = Annotated[SignedIn, Depends(PagePermission(Permission.ACCOUNT_SELF))]

STEP_PATHS = {
    NextStep.VERIFY_MFA: "/sign-in/mfa",
    NextStep.ENROL_MFA: "/sign-in/enrol",
    NextStep.ACKNOWLEDGE_NOTICE: "/sign-in/notice",
    NextStep.CHANGE_PASSWORD: "/account/password",
}
NEXT_COOKIE = "shouhu_next"


def _with_session_cookie(response: Response, token: str, settings: Settings) -> Response:
    # ASVS 3.4: __Host- prefix (when secure), HttpOnly, SameSite=Strict; no Max-Age, so the
    # browser forgets it on close; the server enforces idle and absolute limits.
    response.set_cookie(
        session_cookie_name(settings),
        token,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="strict",
        path="/",
    )
    return response


def _go_to_next_step(request: Request, user: User, row: WebSession) -> str:
    step = authentication.next_step(user, row)
    if step is NextStep.DONE:
        return safe_next(request.cookies.get(NEXT_COOKIE))
    return STEP_PATHS[step]


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.get("/sign-in")
def sign_in_form(request: Request, flow: Flow, next_path: str = "/") -> Response:
    """The sign-in form (or onward, if a session is already under way)."""
    if flow.active is not None:
        return _redirect(_go_to_next_step(request, flow.active.user, flow.active.record))
    return render(request, "accounts/sign_in.html", {"next": safe_next(next_path), "error": None})


@router.post("/sign-in")
def sign_in(
    request: Request,
    db: Db,
    settings: SettingsDep,
    _flow: Flow,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    next_path: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    """Check the password; start a partial session; continue with the second factor."""
    try:
        user = authentication.check_password(
            db,
            username=username,
            password=password,
            settings=settings,
            source_address=client_address(request),
        )
    except AuthenticationError as exc:
        return render(
            request,
            "accounts/sign_in.html",
            {"next": safe_next(next_path), "error": gettext(exc.message), "username": username},
            status=401,
        )
    token, row = authentication.begin_session(
        db, user=user, settings=settings, source_address=client_address(request)
    )
    if authentication.next_step(user, row) is NextStep.ENROL_MFA and user.mfa_secret is None:
        # The pending secret is made here, on POST, so that showing the QR code (GET) never
        # changes anything; it stays until confirmed, so a reload shows the same code.
        authentication.start_enrolment(user)
    response = _redirect(_go_to_next_step(request, user, row))
    response.set_cookie(
        NEXT_COOKIE,
        safe_next(next_path),
        httponly=True,
        secure=settings.secure_cookies,
        samesite="strict",
        path="/",
    )
    return _with_session_cookie(response, token, settings)


@router.get("/sign-in/mfa")
def mfa_form(request: Request, flow: Flow) -> Response:
    """Ask for the 6-digit code."""
    if flow.active is None or flow.active.record.mfa_passed or not flow.active.user.mfa_enabled_at:
        return _redirect("/sign-in")
    return render(request, "accounts/mfa.html", {"error": None})


@router.post("/sign-in/mfa")
def mfa_submit(
    request: Request,
    db: Db,
    settings: SettingsDep,
    flow: Flow,
    code: Annotated[str, Form(max_length=20)],
) -> Response:
    """Check the code; rotate the session id; continue."""
    if flow.active is None or flow.active.record.mfa_passed:
        return _redirect("/sign-in")
    user, row = flow.active.user, flow.active.record
    try:
        token, new_row = authentication.verify_mfa(
            db,
            user=user,
            row=row,
            code=code,
            settings=settings,
            source_address=client_address(request),
        )
    except AuthenticationError as exc:
        response = render(
            request,
            "accounts/sign_in.html",
            {"next": "/", "error": gettext(exc.message)},
            status=401,
        )
        response.delete_cookie(session_cookie_name(settings), path="/")
        return response
    except ValidationFailedError as exc:
        return render(request, "accounts/mfa.html", {"error": gettext(exc.message)}, status=422)
    return _with_session_cookie(
        _redirect(_go_to_next_step(request, user, new_row)), token, settings
    )


def _enrolment_page(request: Request, user: User, error: str | None, status: int = 200) -> Response:
    secret = user.mfa_secret or ""
    uri = mfa.provisioning_uri(secret, user.username)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    # segno writes the SVG from the URI alone; no user-controlled markup reaches it.
    qr = Markup(mfa.qr_svg(uri))  # noqa: S704
    return render(
        request, "accounts/enrol.html", {"qr": qr, "secret": grouped, "error": error}, status=status
    )


@router.get("/sign-in/enrol")
def enrol_form(request: Request, flow: Flow) -> Response:
    """Show a new TOTP secret as a QR code and as text."""
    if flow.active is None or flow.active.record.mfa_passed or flow.active.user.mfa_enabled_at:
        return _redirect("/sign-in")
    user = flow.active.user
    if user.mfa_secret is None:
        # Reset by an administrator after this sign-in began: start again from the password.
        return _redirect("/sign-in")
    return _enrolment_page(request, user, None)


@router.post("/sign-in/enrol")
def enrol_submit(
    request: Request,
    db: Db,
    settings: SettingsDep,
    flow: Flow,
    code: Annotated[str, Form(max_length=20)],
) -> Response:
    """Confirm the app works with its first code; the second factor is then on."""
    if flow.active is None or flow.active.record.mfa_passed or flow.active.user.mfa_enabled_at:
        return _redirect("/sign-in")
    user, row = flow.active.user, flow.active.record
    try:
        token, new_row = authentication.confirm_enrolment(
            db, user=user, row=row, code=code, source_address=client_address(request)
        )
    except ValidationFailedError as exc:
        return _enrolment_page(request, user, gettext(exc.message), status=422)
    return _with_session_cookie(
        _redirect(_go_to_next_step(request, user, new_row)), token, settings
    )


@router.get("/sign-in/notice")
def notice_form(request: Request, flow: Flow) -> Response:
    """The system-use notice, to be acknowledged before any work."""
    if flow.active is None or not flow.active.record.mfa_passed:
        return _redirect("/sign-in")
    return render(request, "accounts/notice.html")


@router.post("/sign-in/notice")
def notice_submit(request: Request, db: Db, flow: Flow) -> Response:
    """Record the acknowledgement; the sign-in is complete."""
    if flow.active is None or not flow.active.record.mfa_passed:
        return _redirect("/sign-in")
    user, row = flow.active.user, flow.active.record
    if not row.notice_acknowledged:
        authentication.acknowledge_notice(
            db, user=user, row=row, source_address=client_address(request)
        )
    response = _redirect(_go_to_next_step(request, user, row))
    response.delete_cookie(NEXT_COOKIE, path="/")
    return response


@router.post("/sign-out")
def sign_out(request: Request, db: Db, settings: SettingsDep, flow: Flow) -> Response:
    """End the session and forget the cookie."""
    if flow.active is not None:
        authentication.sign_out(
            db,
            user=flow.active.user,
            row=flow.active.record,
            source_address=client_address(request),
        )
    response = _redirect("/sign-in")
    response.delete_cookie(session_cookie_name(settings), path="/")
    return response


def _account_page(request: Request, db: Db, me: SignedIn, **extra: object) -> Response:
    user_tokens = list(
        db.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == me.user.id)
            .order_by(ApiToken.created_at.desc())
        )
    )
    context: dict[str, object] = {"me": me, "tokens": user_tokens, "new_token": None, "error": None}
    context.update(extra)
    return render(
        request, "accounts/account.html", context, status=422 if context.get("error") else 200
    )


@router.get("/account")
def account(request: Request, db: Db, me: Self) -> Response:
    """Your profile and your API tokens."""
    return _account_page(request, db, me)


@router.post("/account/tokens")
def create_own_token(
    request: Request,
    db: Db,
    me: Self,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=100)],
    days: Annotated[int, Form(ge=1, le=366)] = 90,
) -> Response:
    """Issue a token for oneself; the secret is shown on this response only."""
    try:
        issued = tokens.create_token(
            db,
            actor=me.principal,
            user_id=me.user.id,
            name=name,
            days=days or settings.api_token_default_days,
        )
    except DomainError as exc:
        db.rollback()
        return _account_page(request, db, me, error=gettext(exc.message, **exc.params))
    return _account_page(request, db, me, new_token=issued.secret)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_own_token(request: Request, db: Db, me: Self, token_id: uuid.UUID) -> Response:
    """Revoke one of one's tokens."""
    tokens.revoke_token(db, actor=me.principal, token_id=token_id)
    return _redirect("/account")


@router.get("/account/password")
def password_form(request: Request, me: Self) -> Response:
    """The change-password form."""
    return render(request, "accounts/password.html", {"me": me, "error": None, "done": False})


@router.post("/account/password")
def password_submit(
    request: Request,
    db: Db,
    me: Self,
    settings: SettingsDep,
    current_password: Annotated[str, Form(max_length=1024)],
    new_password: Annotated[str, Form(max_length=1024)],
    confirm_password: Annotated[str, Form(max_length=1024)],
) -> Response:
    """Change one's password; other sessions end."""
    if new_password != confirm_password:
        return render(
            request,
            "accounts/password.html",
            {"me": me, "error": gettext("The two new passwords differ."), "done": False},
            status=422,
        )
    try:
        users.change_own_password(
            db,
            actor=me.principal,
            current_password=current_password,
            new_password=new_password,
            settings=settings,
            keep_session_id=me.session_row.id,
        )
    except AuthenticationError as exc:
        # Too many wrong current passwords: the account is locked and its sessions ended.
        response = render(
            request,
            "accounts/sign_in.html",
            {"next": "/", "error": gettext(exc.message)},
            status=401,
        )
        response.delete_cookie(session_cookie_name(settings), path="/")
        return response
    except DomainError as exc:
        if not exc.persist:
            db.rollback()
        return render(
            request,
            "accounts/password.html",
            {"me": me, "error": gettext(exc.message, **exc.params), "done": False},
            status=422,
        )
    return render(request, "accounts/password.html", {"me": me, "error": None, "done": True})
