//! Dates and timestamps as PostgreSQL prints them with `DateStyle = ISO`
//! (utils/adt/datetime.c: EncodeDateOnly, EncodeDateTime, AppendSeconds,
//! EncodeTimezone), for the test_decoding format, which prints values as the
//! session's output functions do: `2026-11-21 14:52:46.341455+00`, seconds'
//! fraction without trailing zeros, years BC as `0044-03-15 BC`. Printing
//! them here saves the output function's call (timestamptz_out was 8% of
//! the test_decoding format's W2 time); the time-zone arithmetic stays
//! PostgreSQL's (the caller gets the broken-down time from timestamp2tm).

use crate::pgtime::{julian_to_date, push_padded, DateTimeParts, DATE_NOBEGIN, DATE_NOEND, POSTGRES_EPOCH_JDATE};

/// `YYYY-MM-DD` of EncodeDateOnly/EncodeDateTime: the year as 1 - year for
/// years BC (the caller appends ` BC`), at least four digits.
fn push_ymd(out: &mut Vec<u8>, year: i64, month: u32, day: u32) {
    push_padded(out, if year > 0 { year } else { 1 - year } as u64, 4);
    out.push(b'-');
    push_padded(out, month.into(), 2);
    out.push(b'-');
    push_padded(out, day.into(), 2);
}

fn push_bc(out: &mut Vec<u8>, year: i64) {
    if year <= 0 {
        out.extend_from_slice(b" BC");
    }
}

/// `+HH`, `+HH:MM` or `+HH:MM:SS` for a zone `zone_west` seconds west of
/// UTC (EncodeTimezone: the sign is east's).
fn push_zone(out: &mut Vec<u8>, zone_west: i32) {
    let seconds = zone_west.unsigned_abs();
    let (hour, minute, second) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    out.push(if zone_west <= 0 { b'+' } else { b'-' });
    push_padded(out, hour.into(), 2);
    if minute != 0 || second != 0 {
        out.push(b':');
        push_padded(out, minute.into(), 2);
    }
    if second != 0 {
        out.push(b':');
        push_padded(out, second.into(), 2);
    }
}

/// timestamp_out / timestamptz_out with DateStyle ISO: the date, time,
/// `.ffffff` without trailing zeros (none when zero), the zone when given.
pub fn push_timestamp(out: &mut Vec<u8>, parts: &DateTimeParts, zone_west: Option<i32>) {
    push_ymd(out, parts.year, parts.month, parts.day);
    out.push(b' ');
    push_padded(out, parts.hour.into(), 2);
    out.push(b':');
    push_padded(out, parts.minute.into(), 2);
    out.push(b':');
    push_padded(out, parts.second.into(), 2);
    if parts.micros != 0 {
        let mut fraction = [0u8; 6];
        let mut rest = parts.micros.min(999_999);
        for digit in fraction.iter_mut().rev() {
            *digit = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        let kept = 6 - fraction.iter().rev().take_while(|d| **d == b'0').count();
        out.push(b'.');
        out.extend_from_slice(&fraction[..kept]);
    }
    if let Some(zone) = zone_west {
        push_zone(out, zone);
    }
    push_bc(out, parts.year);
}

/// date_out with DateStyle ISO (days since 2000-01-01).
pub fn push_date(out: &mut Vec<u8>, days: i32) {
    match days {
        DATE_NOBEGIN => out.extend_from_slice(b"-infinity"),
        DATE_NOEND => out.extend_from_slice(b"infinity"),
        _ => {
            let (year, month, day) = julian_to_date(days as i64 + POSTGRES_EPOCH_JDATE);
            push_ymd(out, year, month, day);
            push_bc(out, year);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pgtime::{push_infinite_timestamp, TIMESTAMP_NOBEGIN, USECS_PER_DAY};

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    fn timestamp(micros: i64, zone: Option<i32>) -> String {
        text(|o| push_timestamp(o, &DateTimeParts::from_timestamp(micros).unwrap(), zone))
    }

    #[test]
    fn timestamps_as_postgres_prints_them_with_datestyle_iso() {
        // Values and texts from PostgreSQL 15 (SET DateStyle = ISO).
        assert_eq!(timestamp(0, Some(0)), "2000-01-01 00:00:00+00");
        assert_eq!(timestamp(500_000, None), "2000-01-01 00:00:00.5");
        assert_eq!(timestamp(1, Some(-19_800)), "2000-01-01 00:00:00.000001+05:30");
        assert_eq!(timestamp(123_456_789, Some(18_000)), "2000-01-01 00:02:03.456789-05");
        // Amsterdam's local mean time before 1937 was +00:19:32.
        assert_eq!(timestamp(0, Some(-1_172)), "2000-01-01 00:00:00+00:19:32");
        // 44 BC (astronomical -43): 1 - year, and " BC" after the zone.
        let ides = -746_117 * USECS_PER_DAY;
        assert_eq!(timestamp(ides, Some(0)), "0044-03-15 00:00:00+00 BC");
        let year_10000 = 2_921_940 * USECS_PER_DAY;
        assert_eq!(timestamp(year_10000, None), "10000-01-01 00:00:00");
    }

    #[test]
    fn dates_and_infinities() {
        assert_eq!(text(|o| push_date(o, 9821)), "2026-11-21");
        assert_eq!(text(|o| push_date(o, -730_120)), "0001-12-31 BC");
        assert_eq!(text(|o| push_date(o, DATE_NOEND)), "infinity");
        assert!(DateTimeParts::from_timestamp(TIMESTAMP_NOBEGIN).is_none());
        assert_eq!(
            text(|o| assert!(push_infinite_timestamp(o, TIMESTAMP_NOBEGIN))),
            "-infinity"
        );
        assert_eq!(text(|o| assert!(!push_infinite_timestamp(o, 0))), "");
    }
}
