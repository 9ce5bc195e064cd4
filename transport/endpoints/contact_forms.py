"""`POST /contact_forms`: a message from the storefront's contact form."""

from __future__ import annotations

from sanic import Request

from api.contact_forms import ContactFormCreateSchema, ContactFormSchema
from services import contact_forms
from transport.http import dump, load_body, transaction
from transport.limits import limit_request
from transport.routing import PUBLIC, route


@route(
    "/contact_forms",
    "POST",
    auth=PUBLIC,
    body=ContactFormCreateSchema,
    response=ContactFormSchema,
    status=201,
    errors=(400, 429),
    summary="Send a message",
)
async def submit_contact_form(request: Request):
    await limit_request(request, "signup")
    data = load_body(request, ContactFormCreateSchema)
    async with transaction(request) as session:
        form = await contact_forms.submit_contact_form(session, request.app.ctx.settings, data)
    return dump(ContactFormSchema, form, status=201)
