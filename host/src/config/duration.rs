//! Durations as the flags and the file spell them.

use super::ConfigError;
use std::time::Duration;

/// Parses `10s`, `1m30s`, `250ms`, or a plain number of seconds.
pub fn parse_duration(what: &str, text: &str) -> Result<Duration, ConfigError> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
    } else if let Ok(d) = humantime::parse_duration(t) {
        return Ok(d);
    }
    Err(ConfigError::Invalid(format!(
        "{what}: '{text}' is not a duration (examples: 30s, 5m, 1m30s, 250ms)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_units_and_plain_seconds() {
        assert_eq!(parse_duration("d", "10s").unwrap(), Duration::from_secs(10));
        assert_eq!(
            parse_duration("d", "1m30s").unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            parse_duration("d", "2.5").unwrap(),
            Duration::from_millis(2500)
        );
        let err = parse_duration("--duration", "10x").unwrap_err().to_string();
        assert!(err.contains("--duration") && err.contains("10x"), "{err}");
        assert!(parse_duration("d", "-1").is_err());
    }
}
