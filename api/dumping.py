"""Precompiled dumps of the response schemas: marshmallow's output without its per-call work.

`dumper(SchemaClass)` returns a function equal to `SchemaClass().dump`: each field's value is
read and converted by a function chosen once (plain ints, strings and booleans, nested schemas
compiled the same way); any other field, a schema with dump hooks or its own accessor falls back
to marshmallow itself, so the shapes stay the schemas' alone (tests/test_dumping.py compares).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from marshmallow import Schema, fields
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import get_value, missing

from api.fields import Joined
from db.prepared import RowPart

Dump = Callable[[Any], Any]
Convert = Callable[[Any, str, Any], Any]


@cache
def dumper(schema_class: type[Schema], many: bool = False) -> Dump:
    """The compiled dump of a schema class (one instance, built once)."""
    return compile_dump(schema_class(many=many))


def compile_dump(schema: Schema) -> Dump:
    if (
        schema._hooks[PRE_DUMP]
        or schema._hooks[POST_DUMP]
        or type(schema).get_attribute is not Schema.get_attribute
        or schema.dict_class is not dict
    ):
        return schema.dump
    plan = [_field_plan(name, field) for name, field in schema.dump_fields.items()]
    accessor = schema.get_attribute

    def dump_one(obj: Any) -> dict:
        keyed = hasattr(obj, "__getitem__")
        result = {}
        for key, name, attribute, convert, field in plan:
            if attribute is None:
                value = field.serialize(name, obj, accessor=accessor)
                if value is not missing:
                    result[key] = value
                continue
            value = _read(obj, attribute, keyed) if attribute else None
            if value is missing:
                default = field.dump_default
                value = default() if callable(default) else default
                if value is missing:
                    continue
            result[key] = convert(value, name, obj)
        return result

    if schema.many:
        return lambda objs: None if objs is None else [dump_one(obj) for obj in objs]
    return dump_one


def _read(obj: Any, attribute: str, keyed: bool) -> Any:
    if "." in attribute:
        return get_value(obj, attribute)
    if keyed:
        try:
            return obj[attribute]
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
    return getattr(obj, attribute, missing)


def _field_plan(name: str, field: fields.Field) -> tuple:
    key = field.data_key if field.data_key is not None else name
    if isinstance(field, Joined):
        nested = compile_dump(field.schema)
        return (key, name, "", lambda _v, _a, obj: nested(RowPart(obj, field.prefix)), field)
    if (
        not field._CHECK_ATTRIBUTE
        or type(field).serialize is not fields.Field.serialize
        or type(field).get_value is not fields.Field.get_value
    ):
        # Fields that read the object themselves (Function, Method, Constant).
        return (key, name, None, None, field)
    attribute = name if field.attribute is None else field.attribute
    return (key, name, attribute, _converter(field), field)


# Values already of the type these fields produce come out unchanged; others go to the field.
PLAIN_TYPES = {fields.Integer: int, fields.Float: float, fields.String: str, fields.Boolean: bool}


def _converter(field: fields.Field) -> Convert:
    kind = type(field)
    plain = PLAIN_TYPES.get(kind)
    if plain is not None and not getattr(field, "as_string", False):
        serialize = field._serialize

        def converted(value, attribute, obj):
            if value is None or type(value) is plain:
                return value
            return serialize(value, attribute, obj)

        return converted
    if kind is fields.Nested:
        nested = compile_dump(field.schema)
        if field.many and not field.schema.many:
            return lambda value, _a, _o: None if value is None else [nested(v) for v in value]
        return lambda value, _a, _o: None if value is None else nested(value)
    if kind is fields.List:
        inner = _converter(field.inner)
        return lambda value, a, o: None if value is None else [inner(v, a, o) for v in value]
    return field._serialize
