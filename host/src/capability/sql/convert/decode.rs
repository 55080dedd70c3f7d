//! Result cells into WIT values: the common types into their own cases,
//! anything else raw so no column type makes a query fail.

use super::numeric::numeric_to_string;
use super::{BoxError, PG_EPOCH_OFFSET_DAYS, PG_EPOCH_OFFSET_US, is_texty, wire_type};
use crate::bindings::Value;
use postgres_protocol::types as pg;
use std::fmt::Write as _;
use tokio_postgres::types::{FromSql, Type};

fn format_uuid(b: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{byte:02x}");
    }
    s
}

/// A result cell decoded into a WIT value, with its size on the wire;
/// accepts every column type.
pub(crate) struct Cell(pub Value, pub usize);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        decode(ty, raw).map(|v| Cell(v, raw.len()))
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, BoxError> {
        Ok(Cell(Value::Null, 0))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

fn decode(ty: &Type, raw: &[u8]) -> Result<Value, BoxError> {
    // The common scalar types by OID first: one integer match instead of
    // resolving the type's kind and comparing `Type`s.
    match ty.oid() {
        16 => return Ok(Value::Boolean(pg::bool_from_sql(raw)?)),
        20 => return Ok(Value::Int8(pg::int8_from_sql(raw)?)),
        21 => return Ok(Value::Int8(i64::from(pg::int2_from_sql(raw)?))),
        23 => return Ok(Value::Int8(i64::from(pg::int4_from_sql(raw)?))),
        701 => return Ok(Value::Float8(pg::float8_from_sql(raw)?)),
        25 | 1043 => return Ok(Value::Text(pg::text_from_sql(raw)?.to_string())),
        _ => {}
    }
    let wt = wire_type(ty);
    let v = match *wt {
        Type::BOOL => Value::Boolean(pg::bool_from_sql(raw)?),
        Type::INT2 => Value::Int8(i64::from(pg::int2_from_sql(raw)?)),
        Type::INT4 => Value::Int8(i64::from(pg::int4_from_sql(raw)?)),
        Type::INT8 => Value::Int8(pg::int8_from_sql(raw)?),
        Type::OID => Value::Int8(i64::from(pg::oid_from_sql(raw)?)),
        Type::FLOAT4 => Value::Float8(f64::from(pg::float4_from_sql(raw)?)),
        Type::FLOAT8 => Value::Float8(pg::float8_from_sql(raw)?),
        Type::NUMERIC => Value::Numeric(numeric_to_string(raw)?),
        Type::BYTEA => Value::Bytea(raw.to_vec()),
        Type::JSON => Value::Json(pg::text_from_sql(raw)?.to_string()),
        Type::JSONB => match raw.split_first() {
            Some((1, rest)) => Value::Json(std::str::from_utf8(rest)?.to_string()),
            _ => return Err("unsupported jsonb version".into()),
        },
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let v = pg::timestamp_from_sql(raw)?;
            // ±infinity are i64::MAX/MIN on the wire and stay so.
            Value::Timestamp(if v == i64::MAX || v == i64::MIN {
                v
            } else {
                v + PG_EPOCH_OFFSET_US
            })
        }
        Type::DATE => {
            let v = pg::date_from_sql(raw)?;
            Value::Date(if v == i32::MAX || v == i32::MIN {
                v
            } else {
                v + PG_EPOCH_OFFSET_DAYS
            })
        }
        Type::TIME => Value::Time(pg::time_from_sql(raw)?),
        Type::UUID => Value::Uuid(format_uuid(&pg::uuid_from_sql(raw)?)),
        Type::FLOAT4_ARRAY => decode_array(raw, pg::float4_from_sql)
            .map_or_else(|| Value::Raw(raw.to_vec()), Value::Float4Array),
        Type::FLOAT8_ARRAY => decode_array(raw, pg::float8_from_sql)
            .map_or_else(|| Value::Raw(raw.to_vec()), Value::Float8Array),
        Type::INT2_ARRAY => decode_array(raw, |b| pg::int2_from_sql(b).map(i64::from))
            .map_or_else(|| Value::Raw(raw.to_vec()), Value::Int8Array),
        Type::INT4_ARRAY => decode_array(raw, |b| pg::int4_from_sql(b).map(i64::from))
            .map_or_else(|| Value::Raw(raw.to_vec()), Value::Int8Array),
        Type::INT8_ARRAY => decode_array(raw, pg::int8_from_sql)
            .map_or_else(|| Value::Raw(raw.to_vec()), Value::Int8Array),
        Type::BOOL_ARRAY => decode_array(raw, pg::bool_from_sql)
            .map_or_else(|| Value::Raw(raw.to_vec()), Value::BooleanArray),
        Type::TEXT_ARRAY | Type::VARCHAR_ARRAY | Type::BPCHAR_ARRAY | Type::NAME_ARRAY => {
            decode_array(raw, |b| pg::text_from_sql(b).map(str::to_string))
                .map_or_else(|| Value::Raw(raw.to_vec()), Value::TextArray)
        }
        _ if is_texty(wt) => Value::Text(pg::text_from_sql(raw)?.to_string()),
        _ if wt.name() == "vector" => decode_pgvector(raw)?,
        _ => Value::Raw(raw.to_vec()),
    };
    Ok(v)
}

/// A one-dimensional array without NULLs, or `None` for the shapes the WIT
/// array cases cannot hold (those arrive raw).
fn decode_array<T>(
    raw: &[u8],
    mut elem: impl FnMut(&[u8]) -> Result<T, BoxError>,
) -> Option<Vec<T>> {
    use fallible_iterator::FallibleIterator;
    let arr = pg::array_from_sql(raw).ok()?;
    if arr.has_nulls() || arr.dimensions().count().ok()? > 1 {
        return None;
    }
    let mut out = Vec::new();
    let mut values = arr.values();
    while let Some(v) = values.next().ok()? {
        out.push(elem(v?).ok()?);
    }
    Some(out)
}

fn decode_pgvector(raw: &[u8]) -> Result<Value, BoxError> {
    if raw.len() < 4 {
        return Err("short vector".into());
    }
    let dim = usize::from(u16::from_be_bytes([raw[0], raw[1]]));
    let body = &raw[4..];
    if body.len() != dim * 4 {
        return Err("vector length does not match its dimensions".into());
    }
    Ok(Value::Float4Array(
        body.chunks_exact(4)
            .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::sql::convert::{Encoded, encode};

    #[test]
    fn uuid_and_arrays_round_trip_through_the_wire_format() {
        let s = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
        let Encoded::Binary(b) = encode(&Value::Uuid(s.into()), &Type::UUID).unwrap() else {
            panic!("binary expected")
        };
        assert_eq!(decode(&Type::UUID, &b).unwrap(), Value::Uuid(s.into()));

        let v = Value::TextArray(vec!["a".into(), "".into(), "c d".into()]);
        let Encoded::Binary(b) = encode(&v, &Type::TEXT_ARRAY).unwrap() else {
            panic!("binary expected")
        };
        assert_eq!(decode(&Type::TEXT_ARRAY, &b).unwrap(), v);

        let v = Value::Timestamp(1_700_000_000_000_001);
        let Encoded::Binary(b) = encode(&v, &Type::TIMESTAMPTZ).unwrap() else {
            panic!("binary expected")
        };
        assert_eq!(decode(&Type::TIMESTAMPTZ, &b).unwrap(), v);
    }
}
