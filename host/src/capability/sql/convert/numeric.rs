//! PostgreSQL's binary `numeric` format, both ways, so exact numbers keep
//! every digit and COPY (binary only) can carry them.

use super::BoxError;
use super::encode::{Encoded, binary};
use bytes::BufMut;
use std::fmt::Write as _;

/// PostgreSQL's binary numeric for a plain decimal (`-12.50`, `NaN`);
/// `None` for forms left to the server's parser (exponents, infinities).
pub(super) fn numeric_binary(text: &str) -> Option<Encoded> {
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
pub(super) fn numeric_to_string(raw: &[u8]) -> Result<String, BoxError> {
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
}
