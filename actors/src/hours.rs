//! Business hours: whether the business is open at an instant, in its own time zone.

use atende_data::BusinessHours;
use chrono::{DateTime, Datelike, NaiveTime, Utc, Weekday};

/// Whether `at` falls in the opening hours. No days configured means always open; an
/// unknown time zone (settings are checked, so only an old record) counts as UTC.
pub fn is_open(hours: &BusinessHours, at: DateTime<Utc>) -> bool {
    if hours.days.is_empty() {
        return true;
    }
    let zone: chrono_tz::Tz = hours.timezone.parse().unwrap_or(chrono_tz::UTC);
    let local = at.with_timezone(&zone);
    let today = weekday_name(local.weekday());
    let now = local.time();
    hours.days.iter().filter(|d| d.weekday == today).any(|d| {
        let parse = |t: &str| NaiveTime::parse_from_str(t, "%H:%M").ok();
        matches!((parse(&d.open), parse(&d.close)), (Some(open), Some(close)) if open <= now && now < close)
    })
}

fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atende_data::DayHours;
    use chrono::TimeZone;

    fn hours(days: &[(&str, &str, &str)]) -> BusinessHours {
        BusinessHours {
            timezone: "America/Sao_Paulo".into(),
            days: days
                .iter()
                .map(|(w, o, c)| DayHours {
                    weekday: w.to_string(),
                    open: o.to_string(),
                    close: c.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn opening_hours_are_read_in_the_business_time_zone() {
        let week = hours(&[("mon", "08:00", "12:00"), ("mon", "13:00", "18:00")]);
        // Monday 2026-11-30 14:00 in São Paulo is 17:00 UTC.
        let at = |h: u32, m: u32| Utc.with_ymd_and_hms(2026, 11, 30, h, m, 0).unwrap();
        for (utc_hour, minute, open) in [
            (11, 0, true),
            (15, 30, false),
            (17, 0, true),
            (21, 0, false),
            (10, 59, false),
        ] {
            assert_eq!(
                is_open(&week, at(utc_hour, minute)),
                open,
                "{utc_hour}:{minute} UTC"
            );
        }
        // Tuesday: no hours.
        assert!(!is_open(
            &week,
            Utc.with_ymd_and_hms(2026, 12, 1, 14, 0, 0).unwrap()
        ));
        assert!(is_open(&hours(&[]), at(3, 0)), "no hours set: always open");
    }
}
