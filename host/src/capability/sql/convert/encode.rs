//! WIT values into PostgreSQL parameters, for statements and `copy-in`.

use super::numeric::numeric_binary;
use super::{BoxError, PG_EPOCH_OFFSET_DAYS, PG_EPOCH_OFFSET_US, is_texty, wire_type};
use crate::bindings::Value;
use bytes::{BufMut, BytesMut};
use postgres_protocol::types as pg;
use postgres_types::{Format, IsNull, ToSql, Type, to_sql_checked};

/// A parameter already encoded for its placeholder's type.
#[derive(Debug)]
pub(crate) enum Encoded {
    Null,
    /// int4 and int8 without a buffer of their own: the hot path.
    Int4(i32),
    Int8(i64),
    Binary(BytesMut),
    /// PostgreSQL text format: the server parses it with the type's input
    /// function, which is how `text` values reach types without a case.
    Text(String),
}

impl ToSql for Encoded {
    fn to_sql(&self, _ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Encoded::Null => Ok(IsNull::Yes),
            Encoded::Int4(v) => {
                pg::int4_to_sql(*v, out);
                Ok(IsNull::No)
            }
            Encoded::Int8(v) => {
                pg::int8_to_sql(*v, out);
                Ok(IsNull::No)
            }
            Encoded::Binary(b) => {
                out.extend_from_slice(b);
                Ok(IsNull::No)
            }
            Encoded::Text(s) => {
                out.extend_from_slice(s.as_bytes());
                Ok(IsNull::No)
            }
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        match self {
            Encoded::Text(_) => Format::Text,
            _ => Format::Binary,
        }
    }

    to_sql_checked!();
}

pub(super) fn binary(f: impl FnOnce(&mut BytesMut)) -> Encoded {
    let mut b = BytesMut::new();
    f(&mut b);
    Encoded::Binary(b)
}

fn mismatch(value: &Value, ty: &Type) -> String {
    format!(
        "a {} value does not fit a parameter of type {}",
        value_kind(value),
        ty.name()
    )
}

/// The WIT case name of a value, for error messages.
pub(crate) fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Boolean(_) => "boolean",
        Value::Int8(_) => "int8",
        Value::Float8(_) => "float8",
        Value::Numeric(_) => "numeric",
        Value::Text(_) => "text",
        Value::Bytea(_) => "bytea",
        Value::Json(_) => "json",
        Value::Timestamp(_) => "timestamp",
        Value::Date(_) => "date",
        Value::Time(_) => "time",
        Value::Uuid(_) => "uuid",
        Value::Float4Array(_) => "float4-array",
        Value::Float8Array(_) => "float8-array",
        Value::Int8Array(_) => "int8-array",
        Value::TextArray(_) => "text-array",
        Value::BooleanArray(_) => "boolean-array",
        Value::Raw(_) => "raw",
    }
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        format!("{f}")
    }
}

fn one_dim(len: usize) -> Result<[pg::ArrayDimension; 1], String> {
    let len = i32::try_from(len).map_err(|_| "array too long".to_string())?;
    Ok([pg::ArrayDimension {
        len,
        lower_bound: 1,
    }])
}

fn array<T: Copy>(
    items: &[T],
    elem: &Type,
    mut put: impl FnMut(T, &mut BytesMut) -> Result<(), String>,
) -> Result<Encoded, String> {
    let mut b = BytesMut::new();
    let mut bad: Option<String> = None;
    pg::array_to_sql(
        one_dim(items.len())?,
        elem.oid(),
        items.iter().copied(),
        |v, buf| match put(v, buf) {
            Ok(()) => Ok(postgres_protocol::IsNull::No),
            Err(e) => {
                bad.get_or_insert(e);
                Err("element does not fit".into())
            }
        },
        &mut b,
    )
    .map_err(|e| bad.take().unwrap_or_else(|| e.to_string()))?;
    Ok(Encoded::Binary(b))
}

fn int_in_range<T: TryFrom<i64>>(v: i64, ty: &Type) -> Result<T, String> {
    T::try_from(v).map_err(|_| format!("{v} is out of range for a parameter of type {}", ty.name()))
}

/// Encodes `value` for a placeholder of type `ty`.
pub(crate) fn encode(value: &Value, ty: &Type) -> Result<Encoded, String> {
    // The hot case, integers into int4/int8 columns, by OID.
    if let Value::Int8(v) = value {
        match ty.oid() {
            20 => return Ok(Encoded::Int8(*v)),
            23 => return Ok(Encoded::Int4(int_in_range::<i32>(*v, ty)?)),
            _ => {}
        }
    }
    let wt = wire_type(ty);
    let enc = match value {
        Value::Null => Encoded::Null,
        // Text is accepted for every type, in text format; text-like types
        // take it in binary (the same bytes).
        Value::Text(s) => {
            if is_texty(wt) || *wt == Type::JSON {
                binary(|b| b.put_slice(s.as_bytes()))
            } else {
                Encoded::Text(s.clone())
            }
        }
        // Exact numbers: binary for numeric columns (COPY needs binary),
        // text parsed by the server for every other type.
        Value::Numeric(s) => match *wt {
            Type::NUMERIC => numeric_binary(s).unwrap_or_else(|| Encoded::Text(s.clone())),
            _ => Encoded::Text(s.clone()),
        },
        Value::Raw(bytes) => binary(|b| b.put_slice(bytes)),
        Value::Boolean(v) => match *wt {
            Type::BOOL => binary(|b| pg::bool_to_sql(*v, b)),
            _ if is_texty(wt) => Encoded::Text(v.to_string()),
            _ => return Err(mismatch(value, ty)),
        },
        Value::Int8(v) => match *wt {
            Type::INT2 => {
                let v = int_in_range::<i16>(*v, ty)?;
                binary(|b| pg::int2_to_sql(v, b))
            }
            Type::INT4 => {
                let v = int_in_range::<i32>(*v, ty)?;
                binary(|b| pg::int4_to_sql(v, b))
            }
            Type::INT8 => binary(|b| pg::int8_to_sql(*v, b)),
            Type::OID => {
                let v = int_in_range::<u32>(*v, ty)?;
                binary(|b| pg::oid_to_sql(v, b))
            }
            Type::FLOAT4 => binary(|b| pg::float4_to_sql(*v as f32, b)),
            Type::FLOAT8 => binary(|b| pg::float8_to_sql(*v as f64, b)),
            Type::NUMERIC => {
                numeric_binary(&v.to_string()).unwrap_or_else(|| Encoded::Text(v.to_string()))
            }
            _ if is_texty(wt) => Encoded::Text(v.to_string()),
            _ => return Err(mismatch(value, ty)),
        },
        Value::Float8(v) => match *wt {
            Type::FLOAT4 => binary(|b| pg::float4_to_sql(*v as f32, b)),
            Type::FLOAT8 => binary(|b| pg::float8_to_sql(*v, b)),
            Type::NUMERIC => {
                let text = float_text(*v);
                numeric_binary(&text).unwrap_or(Encoded::Text(text))
            }
            _ if is_texty(wt) => Encoded::Text(float_text(*v)),
            _ => return Err(mismatch(value, ty)),
        },
        Value::Bytea(v) => match *wt {
            Type::BYTEA => binary(|b| pg::bytea_to_sql(v, b)),
            _ => return Err(mismatch(value, ty)),
        },
        Value::Json(s) => match *wt {
            Type::JSON => binary(|b| b.put_slice(s.as_bytes())),
            Type::JSONB => binary(|b| {
                b.put_u8(1);
                b.put_slice(s.as_bytes());
            }),
            _ if is_texty(wt) => binary(|b| b.put_slice(s.as_bytes())),
            _ => return Err(mismatch(value, ty)),
        },
        Value::Timestamp(us) => match *wt {
            Type::TIMESTAMP | Type::TIMESTAMPTZ => {
                let v = us
                    .checked_sub(PG_EPOCH_OFFSET_US)
                    .ok_or_else(|| format!("timestamp {us} is out of range"))?;
                binary(|b| pg::timestamp_to_sql(v, b))
            }
            _ => return Err(mismatch(value, ty)),
        },
        Value::Date(days) => match *wt {
            Type::DATE => {
                let v = days
                    .checked_sub(PG_EPOCH_OFFSET_DAYS)
                    .ok_or_else(|| format!("date {days} is out of range"))?;
                binary(|b| pg::date_to_sql(v, b))
            }
            _ => return Err(mismatch(value, ty)),
        },
        Value::Time(us) => match *wt {
            Type::TIME => binary(|b| pg::time_to_sql(*us, b)),
            _ => return Err(mismatch(value, ty)),
        },
        Value::Uuid(s) => match *wt {
            Type::UUID => {
                let bytes = parse_uuid(s).ok_or_else(|| format!("'{s}' is not a UUID"))?;
                binary(|b| pg::uuid_to_sql(bytes, b))
            }
            _ if is_texty(wt) => binary(|b| b.put_slice(s.as_bytes())),
            _ => return Err(mismatch(value, ty)),
        },
        Value::Float4Array(v) => match *wt {
            Type::FLOAT4_ARRAY => array(v, &Type::FLOAT4, |x, b| {
                pg::float4_to_sql(x, b);
                Ok(())
            })?,
            Type::FLOAT8_ARRAY => array(v, &Type::FLOAT8, |x, b| {
                pg::float8_to_sql(f64::from(x), b);
                Ok(())
            })?,
            _ if wt.name() == "vector" => encode_pgvector(v)?,
            _ => return Err(mismatch(value, ty)),
        },
        Value::Float8Array(v) => match *wt {
            Type::FLOAT8_ARRAY => array(v, &Type::FLOAT8, |x, b| {
                pg::float8_to_sql(x, b);
                Ok(())
            })?,
            Type::FLOAT4_ARRAY => array(v, &Type::FLOAT4, |x, b| {
                pg::float4_to_sql(x as f32, b);
                Ok(())
            })?,
            _ => return Err(mismatch(value, ty)),
        },
        Value::Int8Array(v) => match *wt {
            Type::INT2_ARRAY => array(v, &Type::INT2, |x, b| {
                pg::int2_to_sql(int_in_range(x, &Type::INT2)?, b);
                Ok(())
            })?,
            Type::INT4_ARRAY => array(v, &Type::INT4, |x, b| {
                pg::int4_to_sql(int_in_range(x, &Type::INT4)?, b);
                Ok(())
            })?,
            Type::INT8_ARRAY => array(v, &Type::INT8, |x, b| {
                pg::int8_to_sql(x, b);
                Ok(())
            })?,
            _ => return Err(mismatch(value, ty)),
        },
        Value::BooleanArray(v) => match *wt {
            Type::BOOL_ARRAY => array(v, &Type::BOOL, |x, b| {
                pg::bool_to_sql(x, b);
                Ok(())
            })?,
            _ => return Err(mismatch(value, ty)),
        },
        Value::TextArray(v) => {
            let elem = match *wt {
                Type::TEXT_ARRAY => Type::TEXT,
                Type::VARCHAR_ARRAY => Type::VARCHAR,
                Type::BPCHAR_ARRAY => Type::BPCHAR,
                Type::NAME_ARRAY => Type::NAME,
                _ => return Err(mismatch(value, ty)),
            };
            let refs: Vec<&str> = v.iter().map(String::as_str).collect();
            array(&refs, &elem, |x, b| {
                pg::text_to_sql(x, b);
                Ok(())
            })?
        }
    };
    Ok(enc)
}

/// pgvector's binary format: dimensions (int16), unused (int16), floats.
fn encode_pgvector(v: &[f32]) -> Result<Encoded, String> {
    let dim = u16::try_from(v.len()).map_err(|_| "vector has too many dimensions".to_string())?;
    Ok(binary(|b| {
        b.put_u16(dim);
        b.put_u16(0);
        for x in v {
            b.put_f32(*x);
        }
    }))
}

fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = s.bytes().filter(|c| *c != b'-').collect();
    if hex.len() != 32 || s.len() > 36 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_range_checked_against_the_parameter_type() {
        assert!(encode(&Value::Int8(32_767), &Type::INT2).is_ok());
        let err = encode(&Value::Int8(32_768), &Type::INT2).unwrap_err();
        assert!(
            err.contains("out of range") && err.contains("int2"),
            "{err}"
        );
        assert!(encode(&Value::Int8(i64::MAX), &Type::INT8).is_ok());
        assert!(encode(&Value::Int8(-1), &Type::OID).is_err());
        let err = encode(&Value::Int8Array(vec![1, 1 << 40]), &Type::INT4_ARRAY).unwrap_err();
        assert!(err.contains("out of range"), "{err}");
    }

    #[test]
    fn mismatches_name_both_sides() {
        let err = encode(&Value::Bytea(vec![1]), &Type::INT4).unwrap_err();
        assert_eq!(err, "a bytea value does not fit a parameter of type int4");
        assert!(encode(&Value::Uuid("nope".into()), &Type::UUID).is_err());
    }

    #[test]
    fn text_reaches_any_type_in_text_format() {
        match encode(&Value::Text("1 day".into()), &Type::INTERVAL).unwrap() {
            Encoded::Text(s) => assert_eq!(s, "1 day"),
            other => panic!("expected text format, got {other:?}"),
        }
        assert!(matches!(
            encode(&Value::Text("x".into()), &Type::VARCHAR).unwrap(),
            Encoded::Binary(_)
        ));
    }
}
