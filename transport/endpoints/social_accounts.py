"""Social network links of a customer."""

from __future__ import annotations

from sanic import Request

from api.social_accounts import (
    SocialAccountCreateSchema,
    SocialAccountListSchema,
    SocialAccountReasonSchema,
    SocialAccountSchema,
)
from services import social_accounts
from transport.http import dump, load_body, no_content, transaction
from transport.routing import ADMIN_SELF, ADMIN_SELF_API, route

ACCOUNTS = "/customers/<customer_id:int>/social_accounts"
ACCOUNT = f"{ACCOUNTS}/<account_id:int>"


@route(
    ACCOUNTS,
    "GET",
    auth=ADMIN_SELF_API,
    response=SocialAccountListSchema,
    errors=(401, 403, 404),
    summary="Social links of a customer",
)
async def list_social_accounts(request: Request, customer_id: int):
    async with transaction(request) as session:
        accounts = await social_accounts.list_accounts(session, customer_id)
    return dump(SocialAccountListSchema, {"items": accounts, "count": len(accounts)})


@route(
    ACCOUNTS,
    "POST",
    auth=ADMIN_SELF,
    body=SocialAccountCreateSchema,
    response=SocialAccountSchema,
    status=201,
    errors=(400, 401, 403, 404, 409, 422),
    summary="Link a social network",
)
async def link_social_account(request: Request, customer_id: int):
    data = load_body(request, SocialAccountCreateSchema)
    async with transaction(request) as session:
        account = await social_accounts.link_account(session, customer_id, data)
    return dump(SocialAccountSchema, account, status=201)


@route(
    ACCOUNT,
    "PATCH",
    auth=ADMIN_SELF,
    body=SocialAccountReasonSchema,
    response=SocialAccountSchema,
    errors=(400, 401, 403, 404, 409),
    summary="Change the reason of a link",
)
async def change_social_reason(request: Request, customer_id: int, account_id: int):
    data = load_body(request, SocialAccountReasonSchema)
    async with transaction(request) as session:
        account = await social_accounts.change_reason(
            session, customer_id, account_id, data["reason"]
        )
    return dump(SocialAccountSchema, account)


@route(
    ACCOUNT,
    "DELETE",
    auth=ADMIN_SELF,
    status=204,
    errors=(401, 403, 404, 409),
    summary="Unlink a social network",
)
async def unlink_social_account(request: Request, customer_id: int, account_id: int):
    async with transaction(request) as session:
        await social_accounts.unlink_account(session, customer_id, account_id)
    return no_content()
