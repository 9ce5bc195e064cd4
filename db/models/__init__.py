"""All tables of the shop; importing this package registers them on Base.metadata."""

from db.models.api_clients import ApiClient
from db.models.base import Base
from db.models.contact_forms import ContactForm
from db.models.customers import Customer, CustomerAddress, ErasedLegacyCustomer
from db.models.directories import (
    Category,
    Color,
    DeliveryType,
    Material,
    ProductsCare,
    Size,
    Status,
    Structure,
)
from db.models.events import ActivityEvent
from db.models.favorites import Favorite
from db.models.goods import Good, goods_materials
from db.models.images import Image
from db.models.marking_codes import MarkingCode
from db.models.onec_exchanges import OnecExchange, OnecSession
from db.models.orders import IdempotencyKey, Order, OrderLine, StatusChange
from db.models.outbox import OutboxMessage
from db.models.password_resets import PasswordReset
from db.models.payments import PaymentAttempt, PaymentCallback
from db.models.refunds import Refund
from db.models.social_accounts import SocialAccount
from db.models.staff_users import StaffUser
from db.models.stock import StockMovement
from db.models.system import AppLock, CatalogState
from db.models.telegram_users import TelegramUser
from db.models.variations import Variation

__all__ = [
    "ActivityEvent",
    "ApiClient",
    "AppLock",
    "Base",
    "CatalogState",
    "Category",
    "Color",
    "ContactForm",
    "Customer",
    "CustomerAddress",
    "DeliveryType",
    "ErasedLegacyCustomer",
    "Favorite",
    "Good",
    "IdempotencyKey",
    "Image",
    "MarkingCode",
    "Material",
    "OnecExchange",
    "OnecSession",
    "Order",
    "OrderLine",
    "OutboxMessage",
    "PasswordReset",
    "PaymentAttempt",
    "PaymentCallback",
    "ProductsCare",
    "Refund",
    "Size",
    "SocialAccount",
    "StaffUser",
    "Status",
    "StatusChange",
    "StockMovement",
    "Structure",
    "TelegramUser",
    "Variation",
    "goods_materials",
]
