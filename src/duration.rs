//! Durations as users write them, on the command line (`--timeout 5m`) and in charter.yaml
//! (`readyFor: 60s`): `90s`, `5m`, `1h30m`, or plain seconds.

use std::time::Duration;

/// Parses `90s`, `5m`, `1h`, `1h30m` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration: use e.g. 90s, 5m, 1h30m");
    if let Ok(n) = s.parse::<u64>() {
        return Ok(Duration::from_secs(n));
    }
    let span: jiff::Span = s.parse().map_err(|_| bad())?;
    let secs = span
        .total(jiff::Unit::Second)
        .map_err(|_| bad())
        .and_then(|t| if t >= 0.0 { Ok(t) } else { Err(bad()) })?;
    Ok(Duration::from_secs_f64(secs))
}

/// A duration as [`parse_duration`] reads it: whole seconds (`90s`), else milliseconds.
pub fn format_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        for bad in ["", "5x", "m", "-5m", "1.5.3s"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("is not a duration"), "{bad}: {err}");
        }
    }

    #[test]
    fn formatted_durations_parse_back() {
        for d in [
            Duration::from_secs(60),
            Duration::from_millis(1500),
            Duration::ZERO,
        ] {
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
