"""The home page and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from shouhu.accounts.roles import Permission
from shouhu.core.i18n import LANGUAGES
from shouhu.onestop.deadlines import deadlines_for
from shouhu.onestop.support_pages import support_labels
from shouhu.web.deps import Db, Flow, PagePermission, SettingsDep, SignedIn
from shouhu.web.middleware import LANGUAGE_COOKIE
from shouhu.web.redirects import safe_next
from shouhu.web.templating import render

router = APIRouter(include_in_schema=False)

Self = Annotated[SignedIn, Depends(PagePermission(Permission.ACCOUNT_SELF))]
ONE_YEAR = 365 * 24 * 3600


@router.get("/")
def home(request: Request, db: Db, me: Self) -> Response:
    """The signed-in user's start page: who they are, what they can do, what is overdue."""
    deadlines = deadlines_for(db, me.principal)  # empty for those who answer for none
    return render(request, "home.html", {"me": me, "deadlines": deadlines, **support_labels()})


@router.post("/language")
def switch_language(
    request: Request,
    _flow: Flow,
    settings: SettingsDep,
    lang: Annotated[str, Form()],
    next_path: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    """Remember the reader's language in a cookie and go back to the page."""
    response = RedirectResponse(safe_next(next_path), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=ONE_YEAR,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="strict",
            path="/",
        )
    return response
