//! Conversion between the WIT `value` variant and PostgreSQL's wire formats.
//!
//! Parameters are encoded against the type the server inferred for each
//! placeholder (from the prepared statement), so an `int8` value binds to an
//! `int4` column after a range check instead of failing inside the driver.
//! Anything that cannot be encoded is reported before the statement is sent.

use crate::bindings::Value;
use bytes::{BufMut, BytesMut};
use postgres_protocol::types as pg;
use postgres_types::{Format, IsNull, Kind, ToSql, Type, to_sql_checked};
use std::error::Error as StdError;
use std::fmt::Write as _;
use tokio_postgres::types::FromSql;

type BoxError = Box<dyn StdError + Sync + Send>;

/// Microseconds between 1970-01-01 (the WIT epoch) and 2000-01-01
/// (PostgreSQL's).
const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;
/// Days between the two epochs.
const PG_EPOCH_OFFSET_DAYS: i32 = 10_957;

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

/// The type whose binary format a value of `ty` uses: domains use their
/// base type's.
fn wire_type(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(base) => wire_type(base),
        _ => ty,
    }
}

fn is_texty(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    ) || matches!(ty.kind(), Kind::Enum(_))
        || ty.name() == "citext"
}

fn binary(f: impl FnOnce(&mut BytesMut)) -> Encoded {
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

/// PostgreSQL's binary numeric for a plain decimal (`-12.50`, `NaN`);
/// `None` for forms left to the server's parser (exponents, infinities).
fn numeric_binary(text: &str) -> Option<Encoded> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("nan") {
        return Some(binary(|b| {
            b.put_i16(0);
            b.put_i16(0);
            b.put_u16(0xC000);
            b.put_i16(0);
        }));
    }
    let (negative, unsigned) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let dscale = i16::try_from(frac_part.len()).ok()?;
    let int_part = int_part.trim_start_matches('0');
    // Align both parts on base-10000 digit boundaries.
    let int_pad = (4 - int_part.len() % 4) % 4;
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let int_digits = format!("{}{int_part}", "0".repeat(int_pad));
    let frac_digits = format!("{frac_part}{}", "0".repeat(frac_pad));
    let group = |s: &str| -> Vec<i16> {
        s.as_bytes()
            .chunks(4)
            .map(|c| c.iter().fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0')))
            .collect()
    };
    let int_groups = group(&int_digits);
    let mut digits: Vec<i16> = int_groups
        .iter()
        .copied()
        .chain(group(&frac_digits))
        .collect();
    let mut weight = i32::try_from(int_groups.len()).ok()? - 1;
    while digits.first() == Some(&0) {
        digits.remove(0);
        weight -= 1;
    }
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    let ndigits = i16::try_from(digits.len()).ok()?;
    let weight = i16::try_from(weight).ok()?;
    let sign: u16 = if negative && !digits.is_empty() {
        0x4000
    } else {
        0
    };
    Some(binary(|b| {
        b.put_i16(ndigits);
        b.put_i16(weight);
        b.put_u16(sign);
        b.put_i16(dscale);
        for d in digits {
            b.put_i16(d);
        }
    }))
}

/// Renders PostgreSQL's binary numeric (base-10000 digits, weight, sign,
/// display scale) as the text the server itself would print.
fn numeric_to_string(raw: &[u8]) -> Result<String, BoxError> {
    if raw.len() < 8 {
        return Err("short numeric".into());
    }
    let word = |i: usize| i16::from_be_bytes([raw[i], raw[i + 1]]);
    let ndigits = usize::try_from(word(0)).map_err(|_| "bad numeric digit count")?;
    let weight = i32::from(word(2));
    let sign = u16::from_be_bytes([raw[4], raw[5]]);
    let dscale = usize::try_from(word(6)).map_err(|_| "bad numeric scale")?;
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        0x0000 | 0x4000 => {}
        _ => return Err("bad numeric sign".into()),
    }
    if raw.len() != 8 + 2 * ndigits {
        return Err("numeric length does not match its digit count".into());
    }
    let digits: Vec<i32> = (0..ndigits).map(|i| i32::from(word(8 + 2 * i))).collect();
    let digit_at = |pos: i32| -> i32 {
        // Position 0 is the base-10000 digit with the given weight.
        let idx = weight - pos;
        if idx < 0 || idx as usize >= digits.len() {
            0
        } else {
            digits[idx as usize]
        }
    };
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        for pos in (0..=weight).rev() {
            let d = digit_at(pos);
            if pos == weight {
                let _ = write!(s, "{d}");
            } else {
                let _ = write!(s, "{d:04}");
            }
        }
    }
    if dscale > 0 {
        s.push('.');
        let mut frac = String::new();
        let mut pos = -1;
        while frac.len() < dscale {
            let _ = write!(frac, "{:04}", digit_at(pos));
            pos -= 1;
        }
        frac.truncate(dscale);
        s.push_str(&frac);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(weight: i16, sign: u16, dscale: i16, digits: &[i16]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend((digits.len() as i16).to_be_bytes());
        v.extend(weight.to_be_bytes());
        v.extend(sign.to_be_bytes());
        v.extend(dscale.to_be_bytes());
        for d in digits {
            v.extend(d.to_be_bytes());
        }
        v
    }

    #[test]
    fn numeric_renders_like_the_server() {
        assert_eq!(
            numeric_to_string(&numeric(1, 0, 0, &[1, 2345])).unwrap(),
            "12345"
        );
        assert_eq!(
            numeric_to_string(&numeric(1, 0x4000, 6, &[1, 2345, 6789])).unwrap(),
            "-12345.678900"
        );
        assert_eq!(
            numeric_to_string(&numeric(-1, 0, 3, &[500])).unwrap(),
            "0.050"
        );
        assert_eq!(numeric_to_string(&numeric(0, 0, 0, &[])).unwrap(), "0");
        assert_eq!(
            numeric_to_string(&numeric(2, 0, 0, &[7])).unwrap(),
            "700000000"
        );
        assert_eq!(
            numeric_to_string(&numeric(0, 0xC000, 0, &[])).unwrap(),
            "NaN"
        );
        assert!(numeric_to_string(&[0, 5, 0, 0]).is_err());
    }

    #[test]
    fn numeric_text_round_trips_through_binary() {
        for text in [
            "0",
            "12345",
            "-12345.678900",
            "0.050",
            "700000000",
            "1.0001",
            "-0.5",
            "NaN",
            "00012.3400",
        ] {
            let Some(Encoded::Binary(b)) = numeric_binary(text) else {
                panic!("{text} should encode")
            };
            let want = match text {
                "00012.3400" => "12.3400",
                t => t,
            };
            assert_eq!(numeric_to_string(&b).unwrap(), want, "{text}");
        }
        assert!(numeric_binary("1e5").is_none());
        assert!(numeric_binary("abc").is_none());
        assert!(numeric_binary("-").is_none());
    }

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
