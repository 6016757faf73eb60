//! Dates: Go's `time.Time` as an object (`now`, `toDate`, `dateModify`), Go's reference-time
//! layouts for formatting and parsing (`2006-01-02 15:04:05.000 -0700 MST`), Go's duration
//! syntax and text (`1h2m3.5s`), over jiff's time zone database.
//!
//! Numbers given to `date` and friends are Unix seconds only when they are Go integers (a
//! float64 from a values file is not: Sprig then formats the current time, and so does this).

use std::sync::LazyLock;
use std::time::Instant;

use gotemplate::{CallCtx, Object, Param, Signature, Value};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};

use crate::{R, Registry, arg, err, sig, str_arg, string};

pub(crate) fn register(r: &mut Registry) {
    use Param::*;
    r.add("now", sig(&[]), |_| Ok(Value::object(Time::now())));
    r.add("date", sig(&[String, Any]), |a| {
        Ok(string(date_in_zone(str_arg(a, 0)?, arg(a, 1), "Local")?))
    });
    for name in ["dateInZone", "date_in_zone"] {
        r.add(name, sig(&[String, Any, String]), |a| {
            Ok(string(date_in_zone(
                str_arg(a, 0)?,
                arg(a, 1),
                str_arg(a, 2)?,
            )?))
        });
    }
    r.add("htmlDate", sig(&[Any]), |a| {
        Ok(string(date_in_zone("2006-01-02", arg(a, 0), "Local")?))
    });
    r.add("htmlDateInZone", sig(&[Any, String]), |a| {
        Ok(string(date_in_zone(
            "2006-01-02",
            arg(a, 0),
            str_arg(a, 1)?,
        )?))
    });
    for name in ["dateModify", "date_modify"] {
        r.add(name, sig(&[String, Any]), |a| {
            let t = time_arg(a, 1)?;
            Ok(Value::object(match parse_duration(str_arg(a, 0)?) {
                Ok(d) => t.add(d),
                Err(_) => t,
            }))
        });
    }
    for name in ["mustDateModify", "must_date_modify"] {
        r.add(name, sig(&[String, Any]), |a| {
            let t = time_arg(a, 1)?;
            let d = parse_duration(str_arg(a, 0)?).map_err(err)?;
            Ok(Value::object(t.add(d)))
        });
    }
    r.add("ago", sig(&[Any]), |a| {
        let t = match arg(a, 0) {
            Value::Object(_) => time_arg(a, 0)?,
            Value::Int(n) | Value::Int64(n) => Time::unix(*n)?,
            _ => Time::now(),
        };
        let since = Time::now().sub(&t);
        Ok(string(format_duration(round_duration(
            since,
            1_000_000_000,
        ))))
    });
    r.add("duration", sig(&[Any]), |a| {
        let n = match arg(a, 0) {
            Value::String(s) => crate::conv::parse_int_clamped(s, 10).unwrap_or(0),
            Value::Int64(n) => *n,
            _ => 0,
        };
        Ok(string(format_duration(n.wrapping_mul(1_000_000_000))))
    });
    r.add("durationRound", sig(&[Any]), |a| {
        let d = match arg(a, 0) {
            Value::String(s) => parse_duration(s).unwrap_or(0),
            Value::Int64(n) => *n,
            Value::Object(_) => Time::now().sub(&time_arg(a, 0)?),
            _ => 0,
        };
        Ok(string(duration_round(d)))
    });
    r.add("toDate", sig(&[String, String]), |a| {
        Ok(Value::object(
            parse_time(str_arg(a, 0)?, str_arg(a, 1)?).unwrap_or_else(|_| Time::zero()),
        ))
    });
    r.add("mustToDate", sig(&[String, String]), |a| {
        Ok(Value::object(
            parse_time(str_arg(a, 0)?, str_arg(a, 1)?).map_err(err)?,
        ))
    });
    r.add("unixEpoch", sig(&[Any]), |a| {
        Ok(string(time_arg(a, 0)?.ts.as_second().to_string()))
    });
}

/// When this process's monotonic clock reading starts, for `now`'s `m=+…` suffix.
static PROCESS_START: LazyLock<Instant> = LazyLock::new(Instant::now);

/// A Go `time.Time`: an instant, the zone it is shown in, and for `now` a monotonic reading.
#[derive(Clone, Debug)]
pub struct Time {
    ts: Timestamp,
    zone: Zone,
    /// Nanoseconds since the process started, as Go prints `m=+0.001`.
    mono: Option<i128>,
}

#[derive(Clone, Debug)]
enum Zone {
    /// Go's `Local`.
    Local(TimeZone),
    /// A named location (`UTC`, `Europe/Berlin`).
    Named(TimeZone),
    /// A fixed offset with its abbreviation, as Go fabricates when parsing `-0700` or `MST`.
    Fixed { name: String, offset: i32 },
}

fn local_zone() -> TimeZone {
    match std::env::var("TZ") {
        // Go: TZ="" is UTC; TZ=name loads that zone (UTC when unknown).
        Ok(tz) if tz.is_empty() => TimeZone::UTC,
        Ok(tz) => TimeZone::get(tz.trim_start_matches(':')).unwrap_or(TimeZone::UTC),
        Err(_) => TimeZone::try_system().unwrap_or(TimeZone::UTC),
    }
}

/// Go's `time.LoadLocation`.
fn load_location(name: &str) -> Option<Zone> {
    match name {
        "" | "UTC" => Some(Zone::Named(TimeZone::UTC)),
        "Local" => Some(Zone::Local(local_zone())),
        // The database is searched without regard to case; Go opens the file by its name.
        _ => TimeZone::get(name)
            .ok()
            .filter(|tz| tz.iana_name() == Some(name))
            .map(Zone::Named),
    }
}

const NANOS: i128 = 1_000_000_000;

impl Time {
    fn now() -> Time {
        let start = *PROCESS_START;
        Time {
            ts: Timestamp::now(),
            zone: Zone::Local(local_zone()),
            mono: Some(start.elapsed().as_nanos() as i128),
        }
    }

    /// Go's zero `time.Time`: January 1, year 1, 00:00:00 UTC.
    fn zero() -> Time {
        Time {
            ts: Timestamp::from_second(-62_135_596_800).unwrap_or(Timestamp::UNIX_EPOCH),
            zone: Zone::Named(TimeZone::UTC),
            mono: None,
        }
    }

    /// `time.Unix(sec, 0)` in `Local`.
    fn unix(sec: i64) -> Result<Time, gotemplate::FuncError> {
        let ts = Timestamp::from_second(sec).map_err(|_| {
            err(format!(
                "{sec} seconds since 1970 is out of the range of dates"
            ))
        })?;
        Ok(Time {
            ts,
            zone: Zone::Local(local_zone()),
            mono: None,
        })
    }

    fn offset(&self) -> i32 {
        match &self.zone {
            Zone::Local(tz) | Zone::Named(tz) => tz.to_offset(self.ts).seconds(),
            Zone::Fixed { offset, .. } => *offset,
        }
    }

    fn abbreviation(&self) -> String {
        match &self.zone {
            Zone::Local(tz) | Zone::Named(tz) => {
                tz.to_offset_info(self.ts).abbreviation().to_string()
            }
            Zone::Fixed { name, .. } => name.clone(),
        }
    }

    fn civil(&self) -> DateTime {
        Offset::from_seconds(self.offset())
            .unwrap_or(Offset::UTC)
            .to_datetime(self.ts)
    }

    fn nanos(&self) -> i128 {
        self.ts.as_nanosecond()
    }

    fn with_nanos(&self, n: i128) -> Time {
        let ts = Timestamp::from_nanosecond(n).unwrap_or(self.ts);
        Time {
            ts,
            zone: self.zone.clone(),
            mono: self.mono.map(|m| m + (n - self.nanos())),
        }
    }

    /// `Time.Add`.
    fn add(&self, d: i64) -> Time {
        self.with_nanos(self.nanos() + i128::from(d))
    }

    /// `Time.Sub`, saturating as Go does.
    fn sub(&self, o: &Time) -> i64 {
        let d = match (self.mono, o.mono) {
            (Some(a), Some(b)) => a - b,
            _ => self.nanos() - o.nanos(),
        };
        d.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    /// `time.RFC3339Nano`, as encoding/json writes a time.
    pub(crate) fn rfc3339_nano(&self) -> String {
        self.format("2006-01-02T15:04:05.999999999Z07:00")
    }

    fn in_zone(&self, zone: Zone) -> Time {
        Time {
            ts: self.ts,
            zone,
            mono: self.mono,
        }
    }

    /// `Time.Format`.
    pub fn format(&self, layout: &str) -> String {
        let dt = self.civil();
        let (year, month, day) = (i64::from(dt.year()), dt.month() as usize, dt.day());
        let (hour, min, sec) = (dt.hour(), dt.minute(), dt.second());
        let nsec = dt.subsec_nanosecond();
        let yday = dt.day_of_year();
        let weekday = dt.weekday().to_sunday_zero_offset() as usize;
        let offset = self.offset();
        let mut out = String::with_capacity(layout.len() + 10);
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, std, suffix) = next_std_chunk(rest);
            out.push_str(prefix);
            let Some(std) = std else {
                break;
            };
            rest = suffix;
            let pad = |out: &mut String, v: i64, width: usize| {
                if v < 0 {
                    out.push('-');
                }
                out.push_str(&format!("{:0width$}", v.unsigned_abs()));
            };
            match std {
                Std::Year => pad(&mut out, year.rem_euclid(100), 2),
                Std::LongYear => pad(&mut out, year, 4),
                Std::Month => out.push_str(&MONTHS[month - 1][..3]),
                Std::LongMonth => out.push_str(MONTHS[month - 1]),
                Std::NumMonth => pad(&mut out, month as i64, 0),
                Std::ZeroMonth => pad(&mut out, month as i64, 2),
                Std::WeekDay => out.push_str(&DAYS[weekday][..3]),
                Std::LongWeekDay => out.push_str(DAYS[weekday]),
                Std::Day => pad(&mut out, i64::from(day), 0),
                Std::UnderDay => {
                    if day < 10 {
                        out.push(' ');
                    }
                    pad(&mut out, i64::from(day), 0);
                }
                Std::ZeroDay => pad(&mut out, i64::from(day), 2),
                Std::UnderYearDay => {
                    if yday < 100 {
                        out.push(' ');
                        if yday < 10 {
                            out.push(' ');
                        }
                    }
                    pad(&mut out, i64::from(yday), 0);
                }
                Std::ZeroYearDay => pad(&mut out, i64::from(yday), 3),
                Std::Hour => pad(&mut out, i64::from(hour), 2),
                Std::Hour12 | Std::ZeroHour12 => {
                    let hr = match hour % 12 {
                        0 => 12,
                        h => h,
                    };
                    pad(
                        &mut out,
                        i64::from(hr),
                        if std == Std::Hour12 { 0 } else { 2 },
                    );
                }
                Std::Minute => pad(&mut out, i64::from(min), 0),
                Std::ZeroMinute => pad(&mut out, i64::from(min), 2),
                Std::Second => pad(&mut out, i64::from(sec), 0),
                Std::ZeroSecond => pad(&mut out, i64::from(sec), 2),
                Std::PM => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
                Std::Pm => out.push_str(if hour >= 12 { "pm" } else { "am" }),
                Std::Tz(kind) => write_tz(&mut out, kind, offset),
                Std::TzName => {
                    let name = self.abbreviation();
                    if name.is_empty() {
                        let zone = offset / 60;
                        out.push(if zone < 0 { '-' } else { '+' });
                        pad(&mut out, i64::from((zone / 60).abs()), 2);
                        pad(&mut out, i64::from((zone % 60).abs()), 2);
                    } else {
                        out.push_str(&name);
                    }
                }
                Std::Frac { digits, trim, sep } => {
                    let text = format!("{nsec:09}");
                    let mut d = &text[..digits.min(9)];
                    if trim {
                        d = d.trim_end_matches('0');
                        if d.is_empty() {
                            continue;
                        }
                    }
                    out.push(sep);
                    out.push_str(d);
                }
            }
        }
        out
    }
}

fn write_tz(out: &mut String, kind: TzKind, offset: i32) {
    if kind.iso && offset == 0 {
        out.push('Z');
        return;
    }
    let mut zone = offset / 60;
    let mut abs = offset;
    if zone < 0 {
        out.push('-');
        zone = -zone;
        abs = -abs;
    } else {
        out.push('+');
    }
    out.push_str(&format!("{:02}", zone / 60));
    if kind.colon && !kind.short {
        out.push(':');
    }
    if !kind.short {
        out.push_str(&format!("{:02}", zone % 60));
    }
    if kind.seconds {
        if kind.colon {
            out.push(':');
        }
        out.push_str(&format!("{:02}", abs % 60));
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct TzKind {
    iso: bool,
    colon: bool,
    short: bool,
    seconds: bool,
}

/// A layout element (Go's `std…` constants).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Std {
    Year,
    LongYear,
    Month,
    LongMonth,
    NumMonth,
    ZeroMonth,
    WeekDay,
    LongWeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    PM,
    Pm,
    TzName,
    Tz(TzKind),
    Frac {
        digits: usize,
        trim: bool,
        sep: char,
    },
}

/// Go's `nextStdChunk`: the text before the first layout element, the element, the rest.
fn next_std_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let starts = |i: usize, s: &str| layout[i..].starts_with(s);
    let lower_next = |i: usize| b.get(i).is_some_and(u8::is_ascii_lowercase);
    let tz = |iso, colon, short, seconds| {
        Some(Std::Tz(TzKind {
            iso,
            colon,
            short,
            seconds,
        }))
    };
    for i in 0..b.len() {
        let hit: Option<(Option<Std>, usize, usize)> = match b[i] {
            b'J' if starts(i, "Jan") => {
                if starts(i, "January") {
                    Some((Some(Std::LongMonth), i, i + 7))
                } else if !lower_next(i + 3) {
                    Some((Some(Std::Month), i, i + 3))
                } else {
                    None
                }
            }
            b'M' if starts(i, "Mon") => {
                if starts(i, "Monday") {
                    Some((Some(Std::LongWeekDay), i, i + 6))
                } else if !lower_next(i + 3) {
                    Some((Some(Std::WeekDay), i, i + 3))
                } else {
                    None
                }
            }
            b'M' if starts(i, "MST") => Some((Some(Std::TzName), i, i + 3)),
            b'0' if b.get(i + 1).is_some_and(|c| (b'1'..=b'6').contains(c)) => {
                let std = match b[i + 1] {
                    b'1' => Std::ZeroMonth,
                    b'2' => Std::ZeroDay,
                    b'3' => Std::ZeroHour12,
                    b'4' => Std::ZeroMinute,
                    b'5' => Std::ZeroSecond,
                    _ => Std::Year,
                };
                Some((Some(std), i, i + 2))
            }
            b'0' if starts(i, "002") => Some((Some(Std::ZeroYearDay), i, i + 3)),
            b'1' if starts(i, "15") => Some((Some(Std::Hour), i, i + 2)),
            b'1' => Some((Some(Std::NumMonth), i, i + 1)),
            b'2' if starts(i, "2006") => Some((Some(Std::LongYear), i, i + 4)),
            b'2' => Some((Some(Std::Day), i, i + 1)),
            b'_' if starts(i, "_2006") => Some((Some(Std::LongYear), i + 1, i + 5)),
            b'_' if starts(i, "_2") => Some((Some(Std::UnderDay), i, i + 2)),
            b'_' if starts(i, "__2") => Some((Some(Std::UnderYearDay), i, i + 3)),
            b'3' => Some((Some(Std::Hour12), i, i + 1)),
            b'4' => Some((Some(Std::Minute), i, i + 1)),
            b'5' => Some((Some(Std::Second), i, i + 1)),
            b'P' if starts(i, "PM") => Some((Some(Std::PM), i, i + 2)),
            b'p' if starts(i, "pm") => Some((Some(Std::Pm), i, i + 2)),
            b'-' if starts(i, "-070000") => Some((tz(false, false, false, true), i, i + 7)),
            b'-' if starts(i, "-07:00:00") => Some((tz(false, true, false, true), i, i + 9)),
            b'-' if starts(i, "-0700") => Some((tz(false, false, false, false), i, i + 5)),
            b'-' if starts(i, "-07:00") => Some((tz(false, true, false, false), i, i + 6)),
            b'-' if starts(i, "-07") => Some((tz(false, false, true, false), i, i + 3)),
            b'Z' if starts(i, "Z070000") => Some((tz(true, false, false, true), i, i + 7)),
            b'Z' if starts(i, "Z07:00:00") => Some((tz(true, true, false, true), i, i + 9)),
            b'Z' if starts(i, "Z0700") => Some((tz(true, false, false, false), i, i + 5)),
            b'Z' if starts(i, "Z07:00") => Some((tz(true, true, false, false), i, i + 6)),
            b'Z' if starts(i, "Z07") => Some((tz(true, false, true, false), i, i + 3)),
            c @ (b'.' | b',') if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    Some((
                        Some(Std::Frac {
                            digits: j - (i + 1),
                            trim: ch == b'9',
                            sep: char::from(c),
                        }),
                        i,
                        j,
                    ))
                }
            }
            _ => None,
        };
        if let Some((std, end_prefix, start_suffix)) = hit {
            return (&layout[..end_prefix], std, &layout[start_suffix..]);
        }
    }
    (layout, None, "")
}

/// Sprig's `dateInZone`: Go integers are Unix seconds, times are themselves, anything else is
/// now; an unknown zone is UTC.
fn date_in_zone(layout: &str, date: &Value, zone: &str) -> Result<String, gotemplate::FuncError> {
    let t = match date {
        Value::Object(o) => match o.as_any().downcast_ref::<Time>() {
            Some(t) => t.clone(),
            None => Time::now(),
        },
        Value::Int(n) | Value::Int64(n) => Time::unix(*n)?,
        _ => Time::now(),
    };
    let zone = load_location(zone).unwrap_or(Zone::Named(TimeZone::UTC));
    Ok(t.in_zone(zone).format(layout))
}

fn time_arg(args: &[Value], i: usize) -> Result<Time, gotemplate::FuncError> {
    let v = arg(args, i);
    match v {
        Value::Object(o) => o
            .as_any()
            .downcast_ref::<Time>()
            .cloned()
            .ok_or_else(|| crate::wrong_type("time.Time", v)),
        _ => Err(crate::wrong_type("time.Time", v)),
    }
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub(crate) fn parse_duration(s: &str) -> Result<i64, String> {
    let orig = s;
    let quoted = || gotemplate::gofmt::sprintf("%q", &[Value::from(orig)]);
    let invalid = || format!("time: invalid duration {}", quoted());
    let mut s = s.as_bytes();
    let mut d: u64 = 0;
    let mut neg = false;
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        neg = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // The integer part.
        let pl = s.len();
        let mut v: u64 = 0;
        let mut overflow = false;
        while let Some(&c) = s.first() {
            if !c.is_ascii_digit() {
                break;
            }
            if v > (1 << 63) / 10 {
                overflow = true;
            }
            v = v.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
            if v > 1 << 63 {
                overflow = true;
            }
            s = &s[1..];
        }
        if overflow {
            return Err(invalid());
        }
        let pre = pl != s.len();
        // The fraction.
        let mut post = false;
        let (mut f, mut scale) = (0u64, 1f64);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let pl = s.len();
            let mut overflowed = false;
            while let Some(&c) = s.first() {
                if !c.is_ascii_digit() {
                    break;
                }
                if !overflowed {
                    if f > (1 << 63) / 10 {
                        overflowed = true;
                    } else {
                        let y = f * 10 + u64::from(c - b'0');
                        if y > 1 << 63 {
                            overflowed = true;
                        } else {
                            f = y;
                            scale *= 10.0;
                        }
                    }
                }
                s = &s[1..];
            }
            post = pl != s.len();
        }
        if !pre && !post {
            return Err(invalid());
        }
        // The unit.
        let ul = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if ul == 0 {
            return Err(format!("time: missing unit in duration {}", quoted()));
        }
        let u = std::str::from_utf8(&s[..ul]).unwrap_or("");
        s = &s[ul..];
        let unit: u64 = match u {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    gotemplate::gofmt::sprintf("%q", &[Value::from(u)]),
                    quoted()
                ));
            }
        };
        if v > (1 << 63) / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            v += (f as f64 * (unit as f64 / scale)) as u64;
            if v > 1 << 63 {
                return Err(invalid());
            }
        }
        d += v;
        if d > 1 << 63 {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((d as i64).wrapping_neg());
    }
    if d > (1 << 63) - 1 {
        return Err(invalid());
    }
    Ok(d as i64)
}

/// Go's `Duration.String`.
pub(crate) fn format_duration(d: i64) -> String {
    let neg = d < 0;
    let mut u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0 => return "0s".into(),
            1..=999 => (0, "ns"),
            1_000..=999_999 => (3, "\u{b5}s"),
            _ => (6, "ms"),
        };
        let frac = frac_text(&mut u, prec);
        out = format!("{u}{frac}{unit}");
    } else {
        let frac = frac_text(&mut u, 9);
        let secs = u % 60;
        u /= 60;
        let mut text = format!("{secs}{frac}s");
        if u > 0 {
            text = format!("{}m{text}", u % 60);
            u /= 60;
            if u > 0 {
                text = format!("{u}h{text}");
            }
        }
        out.push_str(&text);
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// Go's `fmtFrac`: divides `v` by 10^prec, returning the fraction's text (trailing zeros and
/// a lone point left out).
fn frac_text(v: &mut u64, prec: u32) -> String {
    let mut digits = String::new();
    let mut print = false;
    for _ in 0..prec {
        let digit = *v % 10;
        print = print || digit != 0;
        if print {
            digits.insert(0, char::from(b'0' + digit as u8));
        }
        *v /= 10;
    }
    if print {
        digits.insert(0, '.');
    }
    digits
}

/// `Duration.Round(m)`.
fn round_duration(d: i64, m: i64) -> i64 {
    let mut r = d % m;
    if d < 0 {
        r = -r;
        if r + r < m {
            return d + r;
        }
        return d.checked_sub(m).map_or(i64::MIN, |d1| d1 + r);
    }
    if r + r < m {
        return d - r;
    }
    d.checked_add(m).map_or(i64::MAX, |d1| d1 - r)
}

/// Sprig's `durationRound`: the largest whole unit (y = 365 days, mo = 30 days).
fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    let hour: u64 = 3_600_000_000_000;
    let units = [
        (hour * 24 * 365, "y"),
        (hour * 24 * 30, "mo"),
        (hour * 24, "d"),
        (hour, "h"),
        (60_000_000_000, "m"),
        (1_000_000_000, "s"),
    ];
    for (size, name) in units {
        if u > size {
            return format!("{}{name}", u / size);
        }
    }
    "0s".into()
}

/// Go's `time.ParseInLocation(layout, value, time.Local)`.
fn parse_time(layout: &str, value: &str) -> Result<Time, String> {
    let fail = |elem: &str, rest: &str, msg: &str| {
        let q = |s: &str| gotemplate::gofmt::sprintf("%q", &[Value::from(s)]);
        if msg.is_empty() {
            format!(
                "parsing time {} as {}: cannot parse {} as {}",
                q(value),
                q(layout),
                q(rest),
                q(elem)
            )
        } else {
            format!("parsing time {}{msg}", q(value))
        }
    };
    let (mut year, mut month, mut day, mut yday) = (1i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0i64);
    let mut pm_set = None::<bool>;
    let mut zone_offset: Option<i32> = None;
    let mut zone_name: Option<String> = None;
    let mut lay = layout;
    let mut v = value;
    loop {
        let (prefix, std, suffix) = next_std_chunk(lay);
        let std_str = &lay[prefix.len()..lay.len() - suffix.len()];
        // The literal prefix must match (spaces are not special beyond Go's own skipping).
        v = skip_prefix(v, prefix).ok_or_else(|| fail(prefix, v, ""))?;
        let Some(std) = std else {
            if !v.is_empty() {
                return Err(fail(
                    "",
                    v,
                    &format!(
                        ": extra text: {}",
                        gotemplate::gofmt::sprintf("%q", &[Value::from(v)])
                    ),
                ));
            }
            break;
        };
        lay = suffix;
        let hold = v;
        let bad = |_: ()| fail(std_str, hold, "");
        match std {
            Std::Year => {
                let (n, rest) = take_digits(v, 2, 2).ok_or(()).map_err(bad)?;
                year = if n >= 69 { n + 1900 } else { n + 2000 };
                v = rest;
            }
            Std::LongYear => {
                let (n, rest) = take_digits(v, 4, 4).ok_or(()).map_err(bad)?;
                year = n;
                v = rest;
            }
            Std::Month | Std::LongMonth => {
                let names: Vec<&str> = if std == Std::Month {
                    MONTHS.iter().map(|m| &m[..3]).collect()
                } else {
                    MONTHS.to_vec()
                };
                let (idx, rest) = lookup(&names, v).ok_or(()).map_err(bad)?;
                month = idx as i64 + 1;
                v = rest;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (n, rest) = take_num(v, std == Std::ZeroMonth).ok_or(()).map_err(bad)?;
                if !(1..=12).contains(&n) {
                    return Err(fail("", "", ": month out of range"));
                }
                month = n;
                v = rest;
            }
            Std::WeekDay | Std::LongWeekDay => {
                let names: Vec<&str> = if std == Std::WeekDay {
                    DAYS.iter().map(|d| &d[..3]).collect()
                } else {
                    DAYS.to_vec()
                };
                let (_, rest) = lookup(&names, v).ok_or(()).map_err(bad)?;
                v = rest;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                let mut s = v;
                if std == Std::UnderDay && s.starts_with(' ') {
                    s = &s[1..];
                }
                let (n, rest) = take_num(s, std == Std::ZeroDay).ok_or(()).map_err(bad)?;
                day = n;
                v = rest;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                let mut s = v;
                if std == Std::UnderYearDay {
                    s = s.trim_start_matches(' ');
                }
                let (n, rest) = take_digits(s, 1, 3).ok_or(()).map_err(bad)?;
                yday = n;
                v = rest;
            }
            Std::Hour => {
                let (n, rest) = take_num(v, false).ok_or(()).map_err(bad)?;
                if !(0..24).contains(&n) {
                    return Err(fail("", "", ": hour out of range"));
                }
                hour = n;
                v = rest;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (n, rest) = take_num(v, std == Std::ZeroHour12).ok_or(()).map_err(bad)?;
                if !(0..=12).contains(&n) {
                    return Err(fail("", "", ": hour out of range"));
                }
                hour = n;
                v = rest;
            }
            Std::Minute | Std::ZeroMinute => {
                let (n, rest) = take_num(v, std == Std::ZeroMinute).ok_or(()).map_err(bad)?;
                if !(0..60).contains(&n) {
                    return Err(fail("", "", ": minute out of range"));
                }
                min = n;
                v = rest;
            }
            Std::Second | Std::ZeroSecond => {
                let (n, rest) = take_num(v, std == Std::ZeroSecond).ok_or(()).map_err(bad)?;
                if !(0..60).contains(&n) {
                    return Err(fail("", "", ": second out of range"));
                }
                sec = n;
                v = rest;
                // Go accepts a fractional second here when the layout has none next.
                if let Some(r) = v.strip_prefix(['.', ','])
                    && r.starts_with(|c: char| c.is_ascii_digit())
                    && !matches!(next_std_chunk(lay).1, Some(Std::Frac { .. }))
                {
                    let n = r.chars().take_while(char::is_ascii_digit).count();
                    nsec = frac_nanos(&r[..n]);
                    v = &r[n..];
                }
            }
            Std::PM | Std::Pm => {
                let (word, rest) = v.split_at(v.len().min(2));
                match word {
                    "PM" | "pm" if std == Std::PM || word == "pm" => pm_set = Some(true),
                    "AM" | "am" if std == Std::PM || word == "am" => pm_set = Some(false),
                    _ => return Err(bad(())),
                }
                v = rest;
            }
            Std::Tz(kind) => {
                if kind.iso && (v.starts_with('Z')) {
                    v = &v[1..];
                    zone_offset = Some(0);
                    zone_name = Some("UTC".into());
                    continue;
                }
                let (off, rest) = parse_offset(v, kind).ok_or(()).map_err(bad)?;
                zone_offset = Some(off);
                v = rest;
            }
            Std::TzName => {
                if v.len() >= 3 && v.starts_with("UTC") {
                    zone_name = Some("UTC".into());
                    v = &v[3..];
                    continue;
                }
                let n = v.chars().take_while(char::is_ascii_uppercase).count();
                if n < 3 {
                    return Err(bad(()));
                }
                zone_name = Some(v[..n].to_string());
                v = &v[n..];
            }
            Std::Frac { digits, trim, .. } => {
                let Some(r) = v.strip_prefix(['.', ',']) else {
                    if trim {
                        continue;
                    }
                    return Err(bad(()));
                };
                let n = r.chars().take_while(char::is_ascii_digit).count();
                if !trim && n != digits {
                    return Err(bad(()));
                }
                nsec = frac_nanos(&r[..n]);
                v = &r[n..];
            }
        }
    }
    if let Some(pm) = pm_set {
        if pm && hour < 12 {
            hour += 12;
        } else if !pm && hour == 12 {
            hour = 0;
        }
    }
    if yday >= 0 && month < 0 {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let len = if leap { 366 } else { 365 };
        if yday < 1 || yday > len {
            return Err(fail("", "", ": day-of-year out of range"));
        }
        let date = jiff::civil::Date::new(year as i16, 1, 1)
            .ok()
            .and_then(|d| d.checked_add(jiff::Span::new().days(yday - 1)).ok())
            .ok_or_else(|| fail("", "", ": day-of-year out of range"))?;
        month = i64::from(date.month());
        day = i64::from(date.day());
    }
    if month < 0 {
        month = 1;
    }
    if day < 0 {
        day = 1;
    }
    let date = jiff::civil::Date::new(year as i16, month as i8, day as i8)
        .map_err(|_| fail("", "", ": day out of range"))?;
    let dt = date.at(hour as i8, min as i8, sec as i8, nsec as i32);
    let local = local_zone();
    let out_of_range = |_| fail("", "", ": year out of range");
    if let Some(off) = zone_offset {
        let ts = Offset::from_seconds(off)
            .map_err(|_| fail("", "", ": offset out of range"))?
            .to_timestamp(dt)
            .map_err(out_of_range)?;
        // Go uses Local when its offset at that instant is the same.
        if local.to_offset(ts).seconds() == off {
            return Ok(Time {
                ts,
                zone: Zone::Local(local),
                mono: None,
            });
        }
        let name = if off == 0 {
            "UTC".to_string()
        } else {
            String::new()
        };
        return Ok(Time {
            ts,
            zone: Zone::Fixed { name, offset: off },
            mono: None,
        });
    }
    if let Some(name) = zone_name {
        if name == "UTC" {
            let ts = Offset::UTC.to_timestamp(dt).map_err(out_of_range)?;
            return Ok(Time {
                ts,
                zone: Zone::Named(TimeZone::UTC),
                mono: None,
            });
        }
        // An abbreviation of Local's at that time: Local. Otherwise Go fabricates a
        // location with that name and offset 0.
        let guess = local
            .to_ambiguous_timestamp(dt)
            .compatible()
            .map_err(out_of_range)?;
        if local.to_offset_info(guess).abbreviation() == name {
            return Ok(Time {
                ts: guess,
                zone: Zone::Local(local),
                mono: None,
            });
        }
        let ts = Offset::UTC.to_timestamp(dt).map_err(out_of_range)?;
        return Ok(Time {
            ts,
            zone: Zone::Fixed { name, offset: 0 },
            mono: None,
        });
    }
    let ts = local
        .to_ambiguous_timestamp(dt)
        .compatible()
        .map_err(out_of_range)?;
    Ok(Time {
        ts,
        zone: Zone::Local(local),
        mono: None,
    })
}

fn skip_prefix<'a>(value: &'a str, prefix: &str) -> Option<&'a str> {
    value.strip_prefix(prefix)
}

/// Exactly `min..=max` digits (Go's `atoi` on a fixed width).
fn take_digits(s: &str, min: usize, max: usize) -> Option<(i64, &str)> {
    let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n < min {
        return None;
    }
    Some((s[..n].parse().ok()?, &s[n..]))
}

/// Go's `getnum`: one or two digits (two when `fixed`).
fn take_num(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    if !b.first()?.is_ascii_digit() {
        return None;
    }
    if !b.get(1).is_some_and(u8::is_ascii_digit) {
        if fixed {
            return None;
        }
        return Some((i64::from(b[0] - b'0'), &s[1..]));
    }
    Some((
        i64::from(b[0] - b'0') * 10 + i64::from(b[1] - b'0'),
        &s[2..],
    ))
}

fn lookup<'a>(names: &[&str], v: &'a str) -> Option<(usize, &'a str)> {
    names
        .iter()
        .position(|n| v.len() >= n.len() && v[..n.len()].eq_ignore_ascii_case(n))
        .map(|i| (i, &v[names[i].len()..]))
}

fn frac_nanos(digits: &str) -> i64 {
    let mut text: String = digits.chars().take(9).collect();
    while text.len() < 9 {
        text.push('0');
    }
    text.parse().unwrap_or(0)
}

fn parse_offset(v: &str, kind: TzKind) -> Option<(i32, &str)> {
    let b = v.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let two = |i: usize| -> Option<i32> {
        let d = b.get(i..i + 2)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| i32::from(d[0] - b'0') * 10 + i32::from(d[1] - b'0'))
    };
    let hh = two(1)?;
    let mut i = 3;
    let mut mm = 0;
    let mut ss = 0;
    if !kind.short {
        if kind.colon {
            (b.get(i) == Some(&b':')).then_some(())?;
            i += 1;
        }
        mm = two(i)?;
        i += 2;
        if kind.seconds {
            if kind.colon {
                (b.get(i) == Some(&b':')).then_some(())?;
                i += 1;
            }
            ss = two(i)?;
            i += 2;
        }
    }
    Some((sign * (hh * 3600 + mm * 60 + ss), &v[i..]))
}

const NO_ARGS: Signature = Signature::new(&[]);

impl Object for Time {
    fn type_name(&self) -> &str {
        "time.Time"
    }

    fn kind(&self) -> &str {
        "struct"
    }

    fn method(&self, name: &str) -> Option<Signature> {
        const ONE_STRING: Signature = Signature::new(&[Param::String]);
        const ONE_INT64: Signature = Signature::new(&[Param::Int64]);
        const THREE_INTS: Signature = Signature::new(&[Param::Int, Param::Int, Param::Int]);
        match name {
            "Year" | "Month" | "Day" | "Hour" | "Minute" | "Second" | "Nanosecond" | "YearDay"
            | "Weekday" | "Unix" | "UnixMilli" | "UnixMicro" | "UnixNano" | "UTC" | "Local"
            | "String" | "IsZero" => Some(NO_ARGS),
            "Format" => Some(ONE_STRING),
            "Add" => Some(ONE_INT64),
            "AddDate" => Some(THREE_INTS),
            _ => None,
        }
    }

    fn call_method(&self, name: &str, _ctx: &mut CallCtx<'_>, args: &[Value]) -> R {
        let dt = self.civil();
        let n = self.nanos();
        Ok(match name {
            "Year" => Value::Int(i64::from(dt.year())),
            "Month" => string(MONTHS[dt.month() as usize - 1]),
            "Day" => Value::Int(i64::from(dt.day())),
            "Hour" => Value::Int(i64::from(dt.hour())),
            "Minute" => Value::Int(i64::from(dt.minute())),
            "Second" => Value::Int(i64::from(dt.second())),
            "Nanosecond" => Value::Int(i64::from(dt.subsec_nanosecond())),
            "YearDay" => Value::Int(i64::from(dt.day_of_year())),
            "Weekday" => string(DAYS[dt.weekday().to_sunday_zero_offset() as usize]),
            "Unix" => Value::Int64(n.div_euclid(NANOS) as i64),
            "UnixMilli" => Value::Int64(n.div_euclid(1_000_000) as i64),
            "UnixMicro" => Value::Int64(n.div_euclid(1_000) as i64),
            "UnixNano" => Value::Int64(n as i64),
            "UTC" => Value::object(self.in_zone(Zone::Named(TimeZone::UTC))),
            "Local" => Value::object(self.in_zone(Zone::Local(local_zone()))),
            "String" => string(self.string().unwrap_or_default()),
            "IsZero" => Value::Bool(self.ts == Time::zero().ts),
            "Format" => string(self.format(str_arg(args, 0)?)),
            "Add" => Value::object(self.add(crate::int_arg(args, 0)?)),
            "AddDate" => {
                let (y, m, d) = (
                    crate::int_arg(args, 0)?,
                    crate::int_arg(args, 1)?,
                    crate::int_arg(args, 2)?,
                );
                let span = jiff::Span::new()
                    .try_years(y)
                    .and_then(|s| s.try_months(m))
                    .and_then(|s| s.try_days(d))
                    .map_err(|e| err(e.to_string()))?;
                let moved = dt.checked_add(span).map_err(|e| err(e.to_string()))?;
                let offset = Offset::from_seconds(self.offset()).unwrap_or(Offset::UTC);
                let ts = match &self.zone {
                    Zone::Local(tz) | Zone::Named(tz) => tz
                        .to_ambiguous_timestamp(moved)
                        .compatible()
                        .map_err(|e| err(e.to_string()))?,
                    Zone::Fixed { .. } => {
                        offset.to_timestamp(moved).map_err(|e| err(e.to_string()))?
                    }
                };
                Value::object(Time {
                    ts,
                    zone: self.zone.clone(),
                    mono: None,
                })
            }
            _ => return Err(err(format!("time.Time has no method {name}"))),
        })
    }

    /// Go's `Time.String`: `2006-01-02 15:04:05.999999999 -0700 MST`, then the monotonic
    /// reading for times from `now`.
    fn string(&self) -> Option<String> {
        let mut s = self.format("2006-01-02 15:04:05.999999999 -0700 MST");
        if let Some(m) = self.mono {
            let sign = if m < 0 { '-' } else { '+' };
            let m = m.unsigned_abs();
            s.push_str(&format!(
                " m={sign}{}.{:09}",
                m / 1_000_000_000,
                m % 1_000_000_000
            ));
        }
        Some(s)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: i64) -> Time {
        Time {
            ts: Timestamp::from_second(s).unwrap(),
            zone: Zone::Named(TimeZone::UTC),
            mono: None,
        }
    }

    #[test]
    fn go_layouts() {
        let t = utc(1_136_214_245); // 2006-01-02T15:04:05Z
        assert_eq!(
            t.format("2006-01-02 15:04:05 MST"),
            "2006-01-02 15:04:05 UTC"
        );
        assert_eq!(
            t.format("Mon Jan _2 3:4:5 PM 06 Z07:00 -0700"),
            "Mon Jan  2 3:4:5 PM 06 Z +0000"
        );
        assert_eq!(t.format(".000 .999 __2 002"), ".000    2 002");
        assert_eq!(t.format("January Monday"), "January Monday");
    }

    #[test]
    fn go_durations() {
        assert_eq!(format_duration(90_000_000_000), "1m30s");
        assert_eq!(format_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(format_duration(1_500_000), "1.5ms");
        assert_eq!(format_duration(-1), "-1ns");
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("-1.5s"), Ok(-1_500_000_000));
        assert_eq!(
            parse_duration("1"),
            Err("time: missing unit in duration \"1\"".into())
        );
        assert_eq!(
            parse_duration("x"),
            Err("time: invalid duration \"x\"".into())
        );
    }

    #[test]
    fn parses_with_layouts() {
        let t = parse_time("2006-01-02T15:04:05Z07:00", "2021-03-04T05:06:07+02:00").unwrap();
        assert_eq!(t.ts.as_second(), 1_614_827_167);
        assert!(parse_time("2006-01-02", "2021-13-01").is_err());
    }
}
