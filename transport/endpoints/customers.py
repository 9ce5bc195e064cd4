"""Customer routes: registration, login, profile, contacts, admin list and lifecycle."""

from __future__ import annotations

from sanic import Request

from api.customers import (
    ContactsSchema,
    CustomerCreateSchema,
    CustomerListQuerySchema,
    CustomerLoginSchema,
    CustomerPageSchema,
    CustomerSchema,
    CustomerTokenSchema,
    CustomerUpdateSchema,
    ImportReportSchema,
    ImportRequestSchema,
)
from services import customers, legacy_import
from transport.http import (
    close_request_session,
    dump,
    load_body,
    load_query,
    no_content,
    transaction,
)
from transport.limits import limit_request, login_attempt
from transport.routing import ADMIN, ADMIN_API, ADMIN_SELF, ADMIN_SELF_API, PUBLIC, route

CUSTOMER = "/customers/<customer_id:int>"


@route(
    "/customers",
    "POST",
    auth=PUBLIC,
    body=CustomerCreateSchema,
    response=CustomerSchema,
    status=201,
    errors=(400, 409, 429),
    summary="Register a site customer",
)
async def register_customer(request: Request):
    await limit_request(request, "signup")
    data = load_body(request, CustomerCreateSchema)
    async with transaction(request) as session:
        customer = await customers.register_customer(
            session, request.app.ctx.settings.BCRYPT_ROUNDS, data
        )
    return dump(CustomerSchema, customer, status=201)


@route(
    "/customers/auth",
    "POST",
    auth=PUBLIC,
    body=CustomerLoginSchema,
    response=CustomerTokenSchema,
    errors=(400, 401, 404, 429),
    summary="Customer login",
)
async def log_in_customer(request: Request):
    data = load_body(request, CustomerLoginSchema)
    settings = request.app.ctx.settings
    attempt = login_attempt(request, "customer", data["login"])
    async with attempt, transaction(request) as session:
        result = await customers.log_in(
            session, settings.JWT_SECRET, settings.JWT_CUSTOMER_TTL_MIN, **data
        )
    return dump(CustomerTokenSchema, result)


@route(
    "/customers/all",
    "GET",
    auth=ADMIN_API,
    query=CustomerListQuerySchema,
    response=CustomerPageSchema,
    errors=(400, 401, 403),
    summary="List customers",
)
async def list_customers(request: Request):
    filters = load_query(request, CustomerListQuerySchema)
    async with transaction(request) as session:
        items, count = await customers.list_customers(session, filters)
    return dump(CustomerPageSchema, {"items": items, "count": count})


@route(
    CUSTOMER,
    "GET",
    auth=ADMIN_SELF_API,
    response=CustomerSchema,
    errors=(401, 403, 404),
    direct_reads=True,
    summary="Read a customer",
)
async def read_customer(request: Request, customer_id: int):
    async with transaction(request) as session:
        customer = await customers.customer_profile(session, customer_id)
    return dump(CustomerSchema, customer)


@route(
    CUSTOMER,
    "PATCH",
    auth=ADMIN_SELF,
    body=CustomerUpdateSchema,
    response=CustomerSchema,
    errors=(400, 401, 403, 404, 409),
    summary="Edit a customer",
)
async def update_customer(request: Request, customer_id: int):
    data = load_body(request, CustomerUpdateSchema)
    rounds = request.app.ctx.settings.BCRYPT_ROUNDS
    async with transaction(request) as session:
        customer = await customers.update_customer(session, rounds, customer_id, data)
    return dump(CustomerSchema, customer)


@route(
    f"{CUSTOMER}/contacts",
    "PUT",
    auth=ADMIN_SELF,
    body=ContactsSchema,
    response=CustomerSchema,
    errors=(400, 401, 403, 404, 409),
    summary="Replace contacts",
)
async def replace_contacts(request: Request, customer_id: int):
    data = load_body(request, ContactsSchema)
    async with transaction(request) as session:
        customer = await customers.replace_contacts(
            session, customer_id, data["email"], data["phone_number"]
        )
    return dump(CustomerSchema, customer)


@route(
    CUSTOMER,
    "DELETE",
    auth=ADMIN_SELF,
    status=204,
    errors=(401, 403, 404, 409),
    summary="Soft-delete a customer",
)
async def soft_delete_customer(request: Request, customer_id: int):
    async with transaction(request) as session:
        await customers.soft_delete(session, customer_id)
    return no_content()


@route(
    f"{CUSTOMER}/restore",
    "POST",
    auth=ADMIN,
    response=CustomerSchema,
    errors=(401, 403, 404, 409),
    summary="Restore a soft-deleted customer",
)
async def restore_customer(request: Request, customer_id: int):
    async with transaction(request) as session:
        customer = await customers.restore(session, customer_id)
    return dump(CustomerSchema, customer)


@route(
    f"{CUSTOMER}/permanent",
    "DELETE",
    auth=ADMIN,
    status=204,
    errors=(401, 403, 404),
    summary="Erase a customer's personal data",
)
async def erase_customer(request: Request, customer_id: int):
    async with transaction(request) as session:
        await customers.erase(session, customer_id)
    return no_content()


@route(
    "/customers/import",
    "POST",
    auth=ADMIN,
    long_running=True,
    body=ImportRequestSchema,
    response=ImportReportSchema,
    errors=(400, 401, 403, 409, 502, 503),
    summary="Import customers from the legacy database",
)
async def import_customers(request: Request):
    data = load_body(request, ImportRequestSchema)
    app = request.app
    # The import commits batch by batch on its own; the auth check's transaction ends here.
    await close_request_session(request)
    report = await legacy_import.import_customers(app.ctx.db, app.ctx.settings, data["dry_run"])
    return dump(ImportReportSchema, report)
