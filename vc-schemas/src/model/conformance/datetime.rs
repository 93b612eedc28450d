//! XML Schema 1.1 Part 2 `dateTime` and `dateTimeStamp` (§3.3.7, §3.4.28), the lexical forms
//! of VC DM 2.0 §4.9 (`validFrom`, `validUntil`: `dateTimeStamp`, a time zone required) and
//! VC DM 1.1 §4.6 / §4.8 (`issuanceDate`, `expirationDate`: `dateTime`, the time zone
//! optional). A value without a time zone is read as UTC (VC DM 2.0 §5.8).

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

/// A parsed `dateTime`: the instant, and whether the text named a time zone (a
/// `dateTimeStamp` must).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    pub instant: DateTime<Utc>,
    pub has_zone: bool,
}

/// Parses `text` as an XML Schema `dateTime`: `-?YYYY-MM-DDThh:mm:ss(.s+)?(Z|(+|-)hh:mm)?`,
/// with `24:00:00` as the first instant of the next day. `Err` says what is wrong.
pub fn parse(text: &str) -> Result<Parsed, &'static str> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (date, rest) = rest
        .split_once('T')
        .ok_or("has no `T` between date and time")?;
    let mut fields = date.rsplitn(3, '-');
    let (day, month, year) = (fields.next(), fields.next(), fields.next());
    let (Some(day), Some(month), Some(year)) = (day, month, year) else {
        return Err("has no date of the form YYYY-MM-DD");
    };
    if year.len() < 4 || (year.len() > 4 && year.starts_with('0')) || !digits(year) {
        return Err("has a year that is not four or more digits");
    }
    if month.len() != 2 || day.len() != 2 || !digits(month) || !digits(day) {
        return Err("has a month or day that is not two digits");
    }
    let year: i32 = year.parse().map_err(|_| "has a year out of range")?;
    let year = if negative { -year } else { year };
    let date = NaiveDate::from_ymd_opt(year, number(month), number(day))
        .ok_or("names a day that does not exist")?;

    let zone_at = rest.find(['Z', '+', '-']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(zone_at);
    let offset_minutes = match zone {
        "" => None,
        "Z" => Some(0),
        signed => Some(offset(signed)?),
    };
    let (clock, fraction) = match time.split_once('.') {
        Some((clock, fraction)) if !fraction.is_empty() && digits(fraction) => (clock, fraction),
        Some(_) => return Err("has a fraction of a second without digits"),
        None => (time, ""),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let [hour, minute, second] = parts.as_slice() else {
        return Err("has no time of the form hh:mm:ss");
    };
    if [hour, minute, second]
        .iter()
        .any(|part| part.len() != 2 || !digits(part))
    {
        return Err("has no time of the form hh:mm:ss");
    }
    let (hour, minute, second) = (number(hour), number(minute), number(second));
    let nanos = fraction_nanos(fraction);
    let local = if (hour, minute, second) == (24, 0, 0) {
        if nanos != 0 {
            return Err("is past 24:00:00");
        }
        date.and_time(NaiveTime::MIN) + Duration::days(1)
    } else {
        let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)
            .filter(|_| second < 60)
            .ok_or("names a time of day that does not exist")?;
        date.and_time(time)
    };
    let utc = Utc.from_utc_datetime(&local) - Duration::minutes(offset_minutes.unwrap_or(0));
    Ok(Parsed {
        instant: utc,
        has_zone: offset_minutes.is_some(),
    })
}

fn digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Two ASCII digits (checked by the caller) as a number.
fn number(text: &str) -> u32 {
    text.bytes()
        .fold(0, |value, digit| value * 10 + u32::from(digit - b'0'))
}

/// `+hh:mm` / `-hh:mm`, at most 14:00 either way, in minutes east of UTC.
fn offset(signed: &str) -> Result<i64, &'static str> {
    const BAD: &str = "has a time zone that is not Z or ±hh:mm (at most 14:00)";
    let (sign, rest) = signed.split_at(1);
    let (hours, minutes) = rest.split_once(':').ok_or(BAD)?;
    if hours.len() != 2 || minutes.len() != 2 || !digits(hours) || !digits(minutes) {
        return Err(BAD);
    }
    let (hours, minutes) = (number(hours), number(minutes));
    if minutes > 59 || hours > 14 || (hours == 14 && minutes != 0) {
        return Err(BAD);
    }
    let total = i64::from(hours * 60 + minutes);
    Ok(if sign == "-" { -total } else { total })
}

/// The digits after the decimal point as nanoseconds (digits past the ninth are dropped).
fn fraction_nanos(fraction: &str) -> u32 {
    let mut nanos = 0;
    for position in 0..9 {
        let digit = fraction
            .as_bytes()
            .get(position)
            .map_or(0, |digit| u32::from(digit - b'0'));
        nanos = nanos * 10 + digit;
    }
    nanos
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn date_time_stamps_parse_to_their_instant() {
        let cases = [
            ("2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
            ("2025-01-01T01:30:00+01:30", "2025-01-01T00:00:00Z"),
            ("2024-12-31T23:00:00-01:00", "2025-01-01T00:00:00Z"),
            ("2024-12-31T24:00:00Z", "2025-01-01T00:00:00Z"),
            ("2025-01-01T00:00:00.250Z", "2025-01-01T00:00:00.25Z"),
            ("2025-01-01T00:00:00+14:00", "2024-12-31T10:00:00Z"),
        ];
        for (text, instant) in cases {
            let parsed = parse(text).unwrap();
            assert_eq!(parsed.instant, at(instant), "{text}");
            assert!(parsed.has_zone, "{text}");
        }
    }

    #[test]
    fn a_date_time_without_a_zone_is_utc_and_says_so() {
        let parsed = parse("2025-01-01T00:00:00").unwrap();
        assert_eq!(parsed.instant, at("2025-01-01T00:00:00Z"));
        assert!(!parsed.has_zone);
    }

    #[test]
    fn malformed_values_are_refused() {
        for text in [
            "yesterday",
            "2025-01-01",
            "2025-01-01 00:00:00Z",
            "2025-1-01T00:00:00Z",
            "2025-02-30T00:00:00Z",
            "2025-01-01T25:00:00Z",
            "2025-01-01T00:60:00Z",
            "2025-01-01T00:00:60Z",
            "2025-01-01T24:00:01Z",
            "2025-01-01T00:00:00.Z",
            "2025-01-01T00:00:00+15:00",
            "2025-01-01T00:00:00+0100",
            "2025-01-01t00:00:00Z",
            "02025-01-01T00:00:00Z",
        ] {
            assert!(parse(text).is_err(), "{text} should be refused");
        }
    }
}
