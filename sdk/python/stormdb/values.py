"""Python values to and from the contract's ``value`` variant.

Parameters are converted by type:

=====================  ===========================
Python                 PostgreSQL value
=====================  ===========================
``None``               ``null``
``bool``               ``boolean``
``int`` (64-bit)       ``int8`` (fits any integer column)
``float``              ``float8``
``str``                ``text`` (accepted for any type, in text format)
``bytes``              ``bytea``
``decimal.Decimal``    ``numeric``
``datetime.datetime``  ``timestamp`` (naive values are taken as UTC)
``datetime.date``      ``date``
``uuid.UUID``          ``uuid``
=====================  ===========================

For the rest wrap the value: ``json('{"a":1}')``, ``float4_array([...])``,
``int8_array([...])``, ``text_array([...])``, ``float8_array([...])``,
``boolean_array([...])``, ``timestamp_us(n)``, ``time_us(n)``. A value that is
already a contract value passes through unchanged.

Result cells come back as the same Python types (``json`` as ``str``,
arrays as ``list``, ``raw`` as ``bytes``).
"""

import datetime as _dt
import decimal as _decimal
import uuid as _uuid

from wit_world.imports import types as _t

_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_EPOCH_DATE = _dt.date(1970, 1, 1)
_NULL = _t.Value_Null()


def _int(x):
    if not _I64_MIN <= x <= _I64_MAX:
        raise OverflowError(f"integer {x} does not fit a 64-bit PostgreSQL value")
    return _t.Value_Int8(x)


def _datetime(x):
    if x.tzinfo is None:
        x = x.replace(tzinfo=_dt.timezone.utc)
    delta = x - _EPOCH
    return _t.Value_Timestamp((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


_TO_VALUE = {
    type(None): lambda x: _NULL,
    bool: _t.Value_Boolean,
    int: _int,
    float: _t.Value_Float8,
    str: _t.Value_Text,
    bytes: _t.Value_Bytea,
    bytearray: lambda x: _t.Value_Bytea(bytes(x)),
    _decimal.Decimal: lambda x: _t.Value_Numeric(str(x)),
    _dt.datetime: _datetime,
    _dt.date: lambda x: _t.Value_Date((x - _EPOCH_DATE).days),
    _uuid.UUID: lambda x: _t.Value_Uuid(str(x)),
}

# Contract values pass through.
for _case in (
    _t.Value_Null, _t.Value_Boolean, _t.Value_Int8, _t.Value_Float8, _t.Value_Numeric,
    _t.Value_Text, _t.Value_Bytea, _t.Value_Json, _t.Value_Timestamp, _t.Value_Date,
    _t.Value_Time, _t.Value_Uuid, _t.Value_Float4Array, _t.Value_Float8Array,
    _t.Value_Int8Array, _t.Value_TextArray, _t.Value_BooleanArray, _t.Value_Raw,
):
    _TO_VALUE[_case] = lambda x: x


def to_value(x):
    """The contract value for the Python value ``x`` (see the module doc)."""
    convert = _TO_VALUE.get(type(x))
    if convert is None:
        raise TypeError(
            f"cannot pass a {type(x).__name__} as a SQL parameter; "
            "use str, int, float, bool, bytes, None, Decimal, datetime, date, UUID "
            "or a wrapper such as stormdb.json(...)"
        )
    return convert(x)


def to_values(params):
    """Contract values for a sequence of Python values."""
    return [to_value(p) for p in params]


# Explicit wrappers for the cases without a natural Python type.
def json(text):
    """A ``json``/``jsonb`` parameter from JSON text."""
    return _t.Value_Json(text)


def numeric(text):
    """A ``numeric`` parameter from its text form, e.g. ``"12.50"``."""
    return _t.Value_Numeric(str(text))


def timestamp_us(micros):
    """A ``timestamp`` parameter: microseconds since 1970-01-01 00:00 UTC."""
    return _t.Value_Timestamp(micros)


def time_us(micros):
    """A ``time`` parameter: microseconds since midnight."""
    return _t.Value_Time(micros)


def float4_array(xs):
    """A ``real[]`` (or pgvector ``vector``) parameter."""
    return _t.Value_Float4Array(list(xs))


def float8_array(xs):
    """A ``float8[]`` parameter."""
    return _t.Value_Float8Array(list(xs))


def int8_array(xs):
    """An ``int2[]``/``int4[]``/``int8[]`` parameter."""
    return _t.Value_Int8Array(list(xs))


def text_array(xs):
    """A ``text[]`` parameter."""
    return _t.Value_TextArray(list(xs))


def boolean_array(xs):
    """A ``bool[]`` parameter."""
    return _t.Value_BooleanArray(list(xs))


def _ident(v):
    return v.value


_FROM_VALUE = {
    _t.Value_Null: lambda v: None,
    _t.Value_Boolean: _ident,
    _t.Value_Int8: _ident,
    _t.Value_Float8: _ident,
    _t.Value_Numeric: lambda v: _decimal.Decimal(v.value),
    _t.Value_Text: _ident,
    _t.Value_Bytea: _ident,
    _t.Value_Json: _ident,
    _t.Value_Timestamp: lambda v: _EPOCH + _dt.timedelta(microseconds=v.value),
    _t.Value_Date: lambda v: _EPOCH_DATE + _dt.timedelta(days=v.value),
    _t.Value_Time: lambda v: (_dt.datetime.min + _dt.timedelta(microseconds=v.value)).time(),
    _t.Value_Uuid: lambda v: _uuid.UUID(v.value),
    _t.Value_Float4Array: _ident,
    _t.Value_Float8Array: _ident,
    _t.Value_Int8Array: _ident,
    _t.Value_TextArray: _ident,
    _t.Value_BooleanArray: _ident,
    _t.Value_Raw: _ident,
}


def from_value(v):
    """The Python value of a result cell (see the module doc)."""
    return _FROM_VALUE[type(v)](v)
