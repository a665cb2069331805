//! ISO 8601 rendering of PostgreSQL's internal date/time representations,
//! independent of the session's DateStyle, IntervalStyle and TimeZone.
//!
//! PostgreSQL stores dates as days and timestamps as microseconds since
//! 2000-01-01; the calendar arithmetic below is PostgreSQL's own `j2date`.

pub(crate) const POSTGRES_EPOCH_JDATE: i64 = 2_451_545;
const USECS_PER_SEC: i64 = 1_000_000;
const USECS_PER_MINUTE: i64 = 60 * USECS_PER_SEC;
const USECS_PER_HOUR: i64 = 60 * USECS_PER_MINUTE;
pub(crate) const USECS_PER_DAY: i64 = 24 * USECS_PER_HOUR;

/// Infinite timestamps and dates, as PostgreSQL marks them.
pub const TIMESTAMP_NOBEGIN: i64 = i64::MIN;
pub const TIMESTAMP_NOEND: i64 = i64::MAX;
pub const DATE_NOBEGIN: i32 = i32::MIN;
pub const DATE_NOEND: i32 = i32::MAX;

/// Microseconds and days from 1970-01-01 (the Unix epoch) to 2000-01-01.
pub const UNIX_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;
pub const UNIX_EPOCH_OFFSET_DAYS: i32 = 10_957;

/// A timestamp in microseconds since the Unix epoch; the infinities
/// (i64::MIN/MAX) stay as they are. `None`: beyond i64 once shifted (years
/// after 294,247).
pub fn unix_micros(pg_micros: i64) -> Option<i64> {
    match pg_micros {
        TIMESTAMP_NOBEGIN | TIMESTAMP_NOEND => Some(pg_micros),
        _ => pg_micros.checked_add(UNIX_EPOCH_OFFSET_MICROS),
    }
}

/// A date in days since the Unix epoch; the infinities (i32::MIN/MAX) stay.
pub fn unix_days(pg_days: i32) -> i32 {
    match pg_days {
        DATE_NOBEGIN | DATE_NOEND => pg_days,
        // PostgreSQL's last date is 2,145,031,948 days after 2000-01-01.
        _ => pg_days.saturating_add(UNIX_EPOCH_OFFSET_DAYS),
    }
}

/// PostgreSQL's `j2date`: Julian day number to (year, month, day); year 0
/// is 1 BC, as in ISO 8601's astronomical numbering.
pub(crate) fn julian_to_date(jd: i64) -> (i64, u32, u32) {
    let mut julian = jd + 32044;
    let mut quad = julian / 146_097;
    let extra = (julian - quad * 146_097) * 4 + 3;
    julian += 60 + quad * 3 + extra / 146_097;
    quad = julian / 1461;
    julian -= quad * 1461;
    let mut y = julian * 4 / 1461;
    julian = if y != 0 {
        (julian + 305) % 365
    } else {
        (julian + 306) % 366
    } + 123;
    y += quad * 4;
    let year = y - 4800;
    let quad = julian * 2141 / 65536;
    let day = julian - 7834 * quad / 256;
    let month = (quad + 10) % 12 + 1;
    (year, month as u32, day as u32)
}

/// "00" to "99": two digits per lookup (timestamps are 7 of them).
static DIGIT_PAIRS: [u8; 200] = {
    let mut pairs = [0u8; 200];
    let mut n = 0;
    while n < 100 {
        pairs[2 * n] = b'0' + (n / 10) as u8;
        pairs[2 * n + 1] = b'0' + (n % 10) as u8;
        n += 1;
    }
    pairs
};

/// Writes `value` into `slot` as exactly `slot.len()` digits, zero-padded
/// (the caller ensures it fits), two digits per step.
fn put_digits(slot: &mut [u8], value: u64) {
    let mut rest = value;
    let mut end = slot.len();
    while end >= 2 {
        let pair = (rest % 100) as usize * 2;
        slot[end - 2..end].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        rest /= 100;
        end -= 2;
    }
    if end == 1 {
        slot[0] = b'0' + (rest % 10) as u8;
    }
}

/// `value` in decimal, zero-padded to at least `width` digits.
pub(crate) fn push_padded(out: &mut Vec<u8>, value: u64, width: usize) {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(value);
    out.extend(std::iter::repeat_n(b'0', width.saturating_sub(digits.len())));
    out.extend_from_slice(digits.as_bytes());
}

/// (hour, minute, second, microsecond) of microseconds since midnight
/// (0 ..= 24:00:00).
fn time_of_day(micros: i64) -> (u32, u32, u32, u32) {
    let micros = micros.max(0);
    (
        (micros / USECS_PER_HOUR) as u32,
        (micros / USECS_PER_MINUTE % 60) as u32,
        (micros / USECS_PER_SEC % 60) as u32,
        (micros % USECS_PER_SEC) as u32,
    )
}

/// `HH:MM:SS.ffffff` into a 15-byte slot.
fn put_clock(slot: &mut [u8], (hour, minute, second, micros): (u32, u32, u32, u32)) {
    put_digits(&mut slot[0..2], hour.into());
    slot[2] = b':';
    put_digits(&mut slot[3..5], minute.into());
    slot[5] = b':';
    put_digits(&mut slot[6..8], second.into());
    slot[8] = b'.';
    put_digits(&mut slot[9..15], micros.into());
}

/// A timestamp broken down as PostgreSQL's timestamp2tm does (without a
/// time zone); `year` is astronomical (0 is 1 BC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTimeParts {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub micros: u32,
}

impl DateTimeParts {
    /// Microseconds since 2000-01-01, or None for the infinities.
    pub fn from_timestamp(micros: i64) -> Option<DateTimeParts> {
        if micros == TIMESTAMP_NOBEGIN || micros == TIMESTAMP_NOEND {
            return None;
        }
        let (year, month, day) = julian_to_date(micros.div_euclid(USECS_PER_DAY) + POSTGRES_EPOCH_JDATE);
        let (hour, minute, second, micros) = time_of_day(micros.rem_euclid(USECS_PER_DAY));
        Some(DateTimeParts {
            year,
            month,
            day,
            hour,
            minute,
            second,
            micros,
        })
    }

    fn clock(&self) -> (u32, u32, u32, u32) {
        (self.hour, self.minute, self.second, self.micros)
    }
}

/// `YYYY-MM-DD` (years outside 0..=9999 with a sign and as many digits as
/// they need).
fn push_date_parts(out: &mut Vec<u8>, (year, month, day): (i64, u32, u32)) {
    let mut text = *b"0000-00-00";
    let first = if (0..=9999).contains(&year) {
        put_digits(&mut text[0..4], year as u64);
        0
    } else {
        out.push(if year < 0 { b'-' } else { b'+' });
        push_padded(out, year.unsigned_abs(), 4);
        4
    };
    put_digits(&mut text[5..7], month.into());
    put_digits(&mut text[8..10], day.into());
    out.extend_from_slice(&text[first..]);
}

/// `HH:MM:SS.ffffff` for microseconds since midnight (0 ..= 24:00:00).
fn push_time_of_day(out: &mut Vec<u8>, micros: i64) {
    let mut text = [0u8; 15];
    put_clock(&mut text, time_of_day(micros));
    out.extend_from_slice(&text);
}

/// Writes a date as `YYYY-MM-DD`, or `infinity` / `-infinity`.
pub fn push_date(out: &mut Vec<u8>, days: i32) {
    match days {
        DATE_NOBEGIN => out.extend_from_slice(b"-infinity"),
        DATE_NOEND => out.extend_from_slice(b"infinity"),
        _ => push_date_parts(out, julian_to_date(days as i64 + POSTGRES_EPOCH_JDATE)),
    }
}

/// An infinite timestamp's text (`infinity`, `-infinity`); false, and
/// nothing written, for a finite one.
pub fn push_infinite_timestamp(out: &mut Vec<u8>, micros: i64) -> bool {
    match micros {
        TIMESTAMP_NOBEGIN => out.extend_from_slice(b"-infinity"),
        TIMESTAMP_NOEND => out.extend_from_slice(b"infinity"),
        _ => return false,
    }
    true
}

/// Writes a timestamp as `YYYY-MM-DDTHH:MM:SS.ffffff`, plus `Z` when `utc`.
pub fn push_timestamp(out: &mut Vec<u8>, micros: i64, utc: bool) {
    match DateTimeParts::from_timestamp(micros) {
        None => {
            push_infinite_timestamp(out, micros);
        }
        Some(parts) => {
            let length = if utc { 27 } else { 26 };
            if !(0..=9999).contains(&parts.year) {
                push_date_parts(out, (parts.year, parts.month, parts.day));
                let mut text = *b"T00:00:00.000000Z";
                put_clock(&mut text[1..16], parts.clock());
                out.extend_from_slice(&text[..length - 10]);
                return;
            }
            // The common case in one append (timestamps were 5% of W1).
            let mut text = *b"0000-00-00T00:00:00.000000Z";
            put_digits(&mut text[0..4], parts.year as u64);
            put_digits(&mut text[5..7], parts.month.into());
            put_digits(&mut text[8..10], parts.day.into());
            put_clock(&mut text[11..26], parts.clock());
            out.extend_from_slice(&text[..length]);
        }
    }
}

pub fn push_time(out: &mut Vec<u8>, micros: i64) {
    push_time_of_day(out, micros);
}

/// `HH:MM:SS.ffffff+HH:MM[:SS]`; PostgreSQL keeps the zone as seconds west of UTC.
pub fn push_timetz(out: &mut Vec<u8>, micros: i64, zone_secs_west: i32) {
    push_time_of_day(out, micros);
    let east = -(zone_secs_west as i64);
    out.push(if east < 0 { b'-' } else { b'+' });
    let east = east.unsigned_abs();
    push_padded(out, east / 3600, 2);
    out.push(b':');
    push_padded(out, east / 60 % 60, 2);
    if !east.is_multiple_of(60) {
        out.push(b':');
        push_padded(out, east % 60, 2);
    }
}

fn push_signed_part(out: &mut Vec<u8>, value: i64, unit: u8) {
    if value != 0 {
        out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        out.push(unit);
    }
}

/// An ISO 8601 duration exactly as PostgreSQL prints it with
/// `IntervalStyle = iso_8601` (`P1Y2M3DT4H5M6.5S`, each part signed).
pub fn push_interval(out: &mut Vec<u8>, micros: i64, days: i32, months: i32) {
    let (years, months) = (months as i64 / 12, months as i64 % 12);
    let hours = micros / USECS_PER_HOUR;
    let minutes = micros % USECS_PER_HOUR / USECS_PER_MINUTE;
    let seconds = micros % USECS_PER_MINUTE / USECS_PER_SEC;
    let fraction = micros % USECS_PER_SEC;
    if years == 0 && months == 0 && days == 0 && micros == 0 {
        out.extend_from_slice(b"PT0S");
        return;
    }
    out.push(b'P');
    push_signed_part(out, years, b'Y');
    push_signed_part(out, months, b'M');
    push_signed_part(out, days as i64, b'D');
    if micros != 0 {
        out.push(b'T');
    }
    push_signed_part(out, hours, b'H');
    push_signed_part(out, minutes, b'M');
    if seconds != 0 || fraction != 0 {
        if seconds < 0 || fraction < 0 {
            out.push(b'-');
        }
        out.extend_from_slice(itoa::Buffer::new().format(seconds.unsigned_abs()).as_bytes());
        if fraction != 0 {
            let mut digits = [0u8; 6];
            let mut f = fraction.unsigned_abs();
            for d in digits.iter_mut().rev() {
                *d = b'0' + (f % 10) as u8;
                f /= 10;
            }
            let len = 6 - digits.iter().rev().take_while(|d| **d == b'0').count();
            out.push(b'.');
            out.extend_from_slice(&digits[..len]);
        }
        out.push(b'S');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn dates() {
        assert_eq!(s(|o| push_date(o, 0)), "2000-01-01");
        assert_eq!(s(|o| push_date(o, -1)), "1999-12-31");
        assert_eq!(s(|o| push_date(o, 60)), "2000-03-01"); // 2000 is a leap year
        assert_eq!(s(|o| push_date(o, 9821)), "2026-11-21");
        assert_eq!(s(|o| push_date(o, DATE_NOEND)), "infinity");
        assert_eq!(s(|o| push_date(o, DATE_NOBEGIN)), "-infinity");
        // 4713-11-24 BC (Julian day 0) is year -4712 astronomically.
        assert_eq!(s(|o| push_date(o, -(POSTGRES_EPOCH_JDATE as i32))), "-4713-11-24");
        // 0001-01-01 and the day before it (1 BC = year 0).
        assert_eq!(s(|o| push_date(o, -730119)), "0001-01-01");
        assert_eq!(s(|o| push_date(o, -730120)), "0000-12-31");
        assert_eq!(s(|o| push_date(o, 2_921_940)), "+10000-01-01");
    }

    #[test]
    fn timestamps() {
        assert_eq!(s(|o| push_timestamp(o, 0, true)), "2000-01-01T00:00:00.000000Z");
        assert_eq!(s(|o| push_timestamp(o, -1, false)), "1999-12-31T23:59:59.999999");
        let t = 9821 * USECS_PER_DAY + 11 * USECS_PER_HOUR + 6 * USECS_PER_MINUTE + 12 * USECS_PER_SEC + 123_456;
        assert_eq!(s(|o| push_timestamp(o, t, true)), "2026-11-21T11:06:12.123456Z");
        assert_eq!(s(|o| push_timestamp(o, 7, true)), "2000-01-01T00:00:00.000007Z");
        let ad_10000 = 2_921_940 * USECS_PER_DAY + 1;
        assert_eq!(
            s(|o| push_timestamp(o, ad_10000, true)),
            "+10000-01-01T00:00:00.000001Z"
        );
        assert_eq!(
            s(|o| push_timestamp(o, -730120 * USECS_PER_DAY, false)),
            "0000-12-31T00:00:00.000000"
        );
        let bc_2 = -730121 * USECS_PER_DAY - 366 * USECS_PER_DAY;
        assert_eq!(s(|o| push_timestamp(o, bc_2, false)), "-0001-12-30T00:00:00.000000");
        assert_eq!(s(|o| push_timestamp(o, TIMESTAMP_NOEND, true)), "infinity");
        assert_eq!(s(|o| push_timestamp(o, TIMESTAMP_NOBEGIN, false)), "-infinity");
    }

    #[test]
    fn times() {
        assert_eq!(s(|o| push_time(o, 0)), "00:00:00.000000");
        assert_eq!(s(|o| push_time(o, USECS_PER_DAY)), "24:00:00.000000");
        assert_eq!(s(|o| push_timetz(o, USECS_PER_HOUR, -7200)), "01:00:00.000000+02:00");
        assert_eq!(s(|o| push_timetz(o, 0, 19800 + 30)), "00:00:00.000000-05:30:30");
        assert_eq!(s(|o| push_timetz(o, 0, 0)), "00:00:00.000000+00:00");
    }

    #[test]
    fn intervals_match_postgres_iso_8601_style() {
        assert_eq!(s(|o| push_interval(o, 0, 0, 0)), "PT0S");
        let t = 4 * USECS_PER_HOUR + 5 * USECS_PER_MINUTE + 6 * USECS_PER_SEC + 500_000;
        assert_eq!(s(|o| push_interval(o, t, 3, 14)), "P1Y2M3DT4H5M6.5S");
        assert_eq!(s(|o| push_interval(o, -t, -3, -14)), "P-1Y-2M-3DT-4H-5M-6.5S");
        assert_eq!(s(|o| push_interval(o, -500_000, 0, 0)), "PT-0.5S");
        assert_eq!(s(|o| push_interval(o, 0, 1, 0)), "P1D");
        assert_eq!(s(|o| push_interval(o, 1, 0, 0)), "PT0.000001S");
    }

    #[test]
    fn unix_epoch_shifts_keep_infinities() {
        assert_eq!(unix_micros(0), Some(946_684_800_000_000));
        assert_eq!(unix_micros(TIMESTAMP_NOEND), Some(i64::MAX));
        assert_eq!(unix_micros(TIMESTAMP_NOBEGIN), Some(i64::MIN));
        assert_eq!(unix_micros(9_223_371_331_199_999_999), None);
        assert_eq!(unix_days(0), 10_957);
        assert_eq!((unix_days(DATE_NOEND), unix_days(DATE_NOBEGIN)), (i32::MAX, i32::MIN));
    }
}
