//! Conversion between the WIT `value` variant and PostgreSQL's wire formats.
//!
//! Parameters are encoded against the type the server inferred for each
//! placeholder (from the prepared statement), so an `int8` value binds to an
//! `int4` column after a range check instead of failing inside the driver.
//! Anything that cannot be encoded is reported before the statement is sent.

mod decode;
mod encode;
mod numeric;

pub(crate) use decode::Cell;
pub(crate) use encode::{Encoded, encode, value_kind};

use postgres_types::{Kind, Type};
use std::error::Error as StdError;

type BoxError = Box<dyn StdError + Sync + Send>;

/// Microseconds between 1970-01-01 (the WIT epoch) and 2000-01-01
/// (PostgreSQL's).
const PG_EPOCH_OFFSET_US: i64 = 946_684_800_000_000;
/// Days between the two epochs.
const PG_EPOCH_OFFSET_DAYS: i32 = 10_957;

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
