"""Field types with the contract's coercion rules (trimmed strings, integer strings, UTC times)."""

from __future__ import annotations

import numbers
from datetime import UTC, date
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields, missing

from db.prepared import RowPart
from helpers.fiscal import MARKING_CODE_MAX, TAX_TYPES, is_marking_code
from helpers.phones import normalize_email, normalize_phone
from helpers.timestamps import format_timestamp

_TRUE = {True, "true", "1"}
_FALSE = {False, "false", "0"}


class Str(fields.String):
    """A trimmed string; `non_empty` refuses blanks, `max_length` counts characters."""

    default_error_messages = {
        "empty": "Must not be empty.",
        "too_long": "Longer than maximum length {max_length}.",
    }

    def __init__(self, *, max_length: int | None = None, non_empty: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.non_empty = non_empty
        if max_length is not None:
            self.metadata.setdefault("maxLength", max_length)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if self.non_empty and not text:
            raise self.make_error("empty")
        if self.max_length is not None and len(text) > self.max_length:
            raise self.make_error("too_long", max_length=self.max_length)
        return text


INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class Int(fields.Integer):
    """An integer: JSON integers, integer strings and floats without a fraction; never booleans.

    Bounded to 32 bits unless told otherwise, like the integer columns it is stored in.
    """

    default_error_messages = {"invalid": "Not a valid integer."}

    def __init__(self, *, minimum: int = INT32_MIN, maximum: int = INT32_MAX, **kwargs):
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def _deserialize(self, value, attr, data, **kwargs):
        number = self.parse(value)
        if number is None:
            raise self.make_error("invalid")
        if number < self.minimum:
            raise ValidationError(f"Must be at least {self.minimum}.")
        if number > self.maximum:
            raise ValidationError(f"Must be at most {self.maximum}.")
        return number

    @staticmethod
    def parse(value) -> int | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, float):
            return int(value) if value.is_integer() else None
        if isinstance(value, str):
            text = value.strip()
            if text.lstrip("+-").isdigit() and text.isascii():
                return int(text)
            try:
                number = Decimal(text)
            except InvalidOperation:
                return None
            if number.is_finite() and number == number.to_integral_value():
                return int(number)
        return None


class Money(Int):
    """Whole rubles: integers, or numbers with a zero fraction (300.0)."""

    default_error_messages = {"invalid": "Must be a whole number of rubles."}

    def __init__(self, **kwargs):
        kwargs.setdefault("minimum", 0)
        super().__init__(**kwargs)


class TaxType(Int):
    """A VAT type of the gateway's receipts (tag 1199)."""

    default_error_messages = {"invalid": "Not a valid VAT type."}

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "metadata",
            {
                "enum": list(TAX_TYPES),
                "description": "VAT type of receipt lines: "
                + ", ".join(f"{code} = {name}" for code, name in TAX_TYPES.items()),
            },
        )
        super().__init__(minimum=0, maximum=max(TAX_TYPES), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        number = super()._deserialize(value, attr, data, **kwargs)
        if number not in TAX_TYPES:
            raise ValidationError(
                "Must be one of the VAT types " + ", ".join(map(str, TAX_TYPES)) + "."
            )
        return number


class MarkingCode(Str):
    """A unit's marking code ("Честный знак") as scanned."""

    default_error_messages = {"invalid_code": "Not a valid marking code."}

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "metadata",
            {
                "description": "GS1 DataMatrix as scanned: 01 + GTIN (14 digits) + 21 + serial, "
                "then the check parts separated by GS (\\u001d)"
            },
        )
        super().__init__(non_empty=True, max_length=MARKING_CODE_MAX, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        code = super()._deserialize(value, attr, data, **kwargs)
        if not is_marking_code(code):
            raise self.make_error("invalid_code")
        return code


class Number(fields.Float):
    """A number or a numeric string."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        number = super()._deserialize(value, attr, data, **kwargs)
        if number != number or number in (float("inf"), float("-inf")):
            raise self.make_error("special")
        return number


class Bool(fields.Boolean):
    """true/false, "true"/"false", 1/0 and "1"/"0"."""

    def _deserialize(self, value, attr, data, **kwargs):
        key = value.strip().lower() if isinstance(value, str) else value
        if isinstance(key, float) and key in (0.0, 1.0):
            key = int(key)
        try:
            if key in _TRUE:
                return True
            if key in _FALSE:
                return False
        except TypeError:
            pass
        raise self.make_error("invalid")


class Email(fields.String):
    """A valid address, trimmed and lower-cased."""

    default_error_messages = {"invalid": "Not a valid email address."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        email = normalize_email(text)
        if email is None:
            raise self.make_error("invalid")
        return email


class Phone(fields.String):
    """A phone number normalised to its digits (8 912... becomes 7912...)."""

    default_error_messages = {"invalid": "Not a valid phone number."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        phone = normalize_phone(text)
        if phone is None:
            raise self.make_error("invalid")
        return phone


class Date(fields.Date):
    """YYYY-MM-DD."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip()
        return super()._deserialize(value, attr, data, **kwargs)


class Timestamp(fields.DateTime):
    """ISO 8601 in UTC with a Z suffix and microseconds; input without an offset is UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        return format_timestamp(value)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip()
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            raise self.make_error("invalid", obj_type=self.OBJ_TYPE) from None


def format_date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


class Joined(fields.Nested):
    """A nested object whose columns came in its parent's row under a prefix (`color_id`,
    `color_name`...), as a join reads them in one statement."""

    def __init__(self, nested, prefix: str, **kwargs):
        super().__init__(nested, **kwargs)
        self.prefix = prefix

    def get_value(self, obj, attr, accessor=None, default=missing):
        return RowPart(obj, self.prefix)
