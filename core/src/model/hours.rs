//! Weekly opening hours with several ranges a day, including ranges that run past midnight
//! (night shelters open 20:00-08:00).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::codes::Weekday;

/// One opening range in minutes after midnight. `close` before `open` means the range runs
/// overnight into the next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimeRange {
    /// Opening minute, 0..1440.
    pub open: u16,
    /// Closing minute, 1..=1440 (1440 = midnight at the end of the day).
    pub close: u16,
}

/// The text was not a list of `HH:MM-HH:MM` ranges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected opening ranges like 09:00-12:00,13:30-17:00")]
pub struct InvalidHours;

impl TimeRange {
    /// A range from `open` to `close`, both `(hour, minute)`; `None` if a time is impossible or
    /// the range is empty.
    pub fn new(open: (u16, u16), close: (u16, u16)) -> Option<TimeRange> {
        let o = minutes(open.0, open.1)?;
        let c = minutes(close.0, close.1)?;
        let c = if c == 0 { 1440 } else { c };
        (o != c && o < 1440).then_some(TimeRange { open: o, close: c })
    }

    /// Whether this range runs past midnight.
    pub fn is_overnight(&self) -> bool {
        self.close <= self.open
    }

    /// The parts of this range on its own day and, for an overnight range, on the next day.
    pub fn split(&self) -> (TimeRange, Option<TimeRange>) {
        if self.is_overnight() {
            (
                TimeRange {
                    open: self.open,
                    close: 1440,
                },
                (self.close > 0).then_some(TimeRange {
                    open: 0,
                    close: self.close,
                }),
            )
        } else {
            (*self, None)
        }
    }
}

fn minutes(h: u16, m: u16) -> Option<u16> {
    (h < 24 && m < 60).then_some(h * 60 + m)
}

fn parse_time(s: &str) -> Option<u16> {
    let s = s.trim();
    let (h, m) = s.split_once([':', 'h', 'u']).unwrap_or((s, "0"));
    let m = if m.is_empty() { "0" } else { m };
    if h.is_empty() || h.len() > 2 || m.len() > 2 {
        return None;
    }
    let (h, m) = (h.parse::<u16>().ok()?, m.parse::<u16>().ok()?);
    if h == 24 && m == 0 {
        return Some(1440);
    }
    minutes(h, m)
}

fn fmt_time(f: &mut fmt::Formatter<'_>, m: u16) -> fmt::Result {
    write!(f, "{:02}:{:02}", m / 60, m % 60)
}

impl fmt::Display for TimeRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_time(f, self.open)?;
        f.write_str("-")?;
        fmt_time(f, self.close)
    }
}

/// Parses `09:00-12:00,13:30-17:00` (also `9h-12h`, `9u-12u30`); the empty string means closed.
pub fn parse_ranges(s: &str) -> Result<Vec<TimeRange>, InvalidHours> {
    let mut ranges = Vec::new();
    for part in s.split([',', ';']).map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').ok_or(InvalidHours)?;
        let open = parse_time(a).ok_or(InvalidHours)?;
        let close = parse_time(b).ok_or(InvalidHours)?;
        if open == close || open >= 1440 {
            return Err(InvalidHours);
        }
        ranges.push(TimeRange { open, close });
    }
    ranges.sort();
    Ok(ranges)
}

/// Formats ranges as [`parse_ranges`] reads them.
pub fn format_ranges(ranges: &[TimeRange]) -> String {
    ranges.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(",")
}

/// The hours of one weekday, as the apps list them (the bindings' shape of [`WeeklyHours`]): one
/// or more ranges (a lunch break makes two). A range that closes before it opens runs past
/// midnight (a night shelter: 21:00 to 08:00).
#[cfg(feature = "uniffi")]
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DayHours {
    /// The day.
    pub day: Weekday,
    /// Its ranges, in order, in minutes after midnight.
    pub ranges: Vec<TimeRange>,
}

/// Opening hours for a week: for each day, zero or more ranges. A day that is absent is closed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WeeklyHours(pub BTreeMap<Weekday, Vec<TimeRange>>);

impl WeeklyHours {
    /// No opening hours at all.
    pub fn closed() -> Self {
        Self::default()
    }

    /// Same ranges every day in `days`.
    pub fn on(days: &[Weekday], ranges: &[TimeRange]) -> Self {
        let mut h = Self::default();
        for d in days {
            h.0.insert(*d, ranges.to_vec());
        }
        h
    }

    /// Whether no day has any range.
    pub fn is_empty(&self) -> bool {
        self.0.values().all(Vec::is_empty)
    }

    /// Ranges of one day.
    pub fn day(&self, day: Weekday) -> &[TimeRange] {
        self.0.get(&day).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether the place is open on `day` at `minute` after midnight, counting overnight ranges
    /// that started the day before.
    pub fn is_open(&self, day: Weekday, minute: u16) -> bool {
        let today = self.day(day).iter().any(|r| {
            let (own, _) = r.split();
            own.open <= minute && minute < own.close
        });
        let prev = Weekday::ALL[(day.index() as usize + 6) % 7];
        let spill = self
            .day(prev)
            .iter()
            .filter_map(|r| r.split().1)
            .any(|r| r.open <= minute && minute < r.close);
        today || spill
    }

    /// Every (day, range) after splitting overnight ranges at midnight: what an index stores.
    pub fn day_ranges(&self) -> Vec<(Weekday, TimeRange)> {
        let mut out = Vec::new();
        for (day, ranges) in &self.0 {
            for r in ranges {
                let (own, next) = r.split();
                out.push((*day, own));
                if let Some(next) = next {
                    out.push((day.next(), next));
                }
            }
        }
        out
    }

    /// Checks the ranges of each day: at most 6, each within the day and not empty (as
    /// [`TimeRange::new`] makes them), none overlapping.
    pub fn check(&self) -> Result<(), InvalidHours> {
        for ranges in self.0.values() {
            let impossible = |r: &TimeRange| r.open >= 1440 || r.close > 1440 || r.open == r.close;
            if ranges.len() > 6 || ranges.iter().any(impossible) {
                return Err(InvalidHours);
            }
            let mut sorted: Vec<_> = ranges.iter().map(|r| r.split().0).collect();
            sorted.sort();
            if sorted.windows(2).any(|w| w[1].open < w[0].close) {
                return Err(InvalidHours);
            }
        }
        Ok(())
    }
}

impl FromStr for WeeklyHours {
    type Err = InvalidHours;

    /// Parses `mon-fri 09:00-12:00,13:00-16:00; sat 10:00-12:00` (day groups separated by `;`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut hours = WeeklyHours::default();
        for group in s.split(';').map(str::trim).filter(|g| !g.is_empty()) {
            let (days, ranges) = group.split_once(char::is_whitespace).ok_or(InvalidHours)?;
            let ranges = parse_ranges(ranges)?;
            for day in parse_days(days)? {
                hours.0.entry(day).or_default().extend(ranges.iter().copied());
            }
        }
        for r in hours.0.values_mut() {
            r.sort();
        }
        hours.check()?;
        Ok(hours)
    }
}

fn parse_days(s: &str) -> Result<Vec<Weekday>, InvalidHours> {
    let mut days = Vec::new();
    for part in s.split(',') {
        if let Some((a, b)) = part.split_once('-') {
            let a: Weekday = a.trim().parse().map_err(|_| InvalidHours)?;
            let b: Weekday = b.trim().parse().map_err(|_| InvalidHours)?;
            let mut d = a;
            loop {
                days.push(d);
                if d == b {
                    break;
                }
                d = d.next();
            }
        } else {
            days.push(part.trim().parse().map_err(|_| InvalidHours)?);
        }
    }
    Ok(days)
}

impl fmt::Display for WeeklyHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (day, ranges) in self.0.iter().filter(|(_, r)| !r.is_empty()) {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{day} {}", format_ranges(ranges))?;
        }
        if first {
            f.write_str("closed")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_ranges() {
        let r = parse_ranges("09:00-12:00, 13h30-17u").unwrap();
        assert_eq!(format_ranges(&r), "09:00-12:00,13:30-17:00");
        assert!(parse_ranges("09:00").is_err());
        assert!(parse_ranges("25:00-26:00").is_err());
        assert!(parse_ranges("10:00-10:00").is_err());
        assert_eq!(parse_ranges("").unwrap(), vec![]);
    }

    #[test]
    fn check_refuses_ranges_outside_the_day_or_empty() {
        let day = |open, close| WeeklyHours::on(&[Weekday::Mon], &[TimeRange { open, close }]);
        assert!(day(20 * 60, 1440).check().is_ok());
        assert!(day(20 * 60, 8 * 60).check().is_ok());
        assert!(day(1440, 60).check().is_err());
        assert!(day(60, 1441).check().is_err());
        assert!(day(600, 600).check().is_err());
    }

    #[test]
    fn overnight_ranges_spill_into_next_day() {
        let h: WeeklyHours = "mon-sun 20:00-08:00".parse().unwrap();
        assert!(h.is_open(Weekday::Tue, 23 * 60));
        assert!(h.is_open(Weekday::Wed, 7 * 60));
        assert!(!h.is_open(Weekday::Wed, 9 * 60));
        let h: WeeklyHours = "fri 20:00-08:00".parse().unwrap();
        assert!(h.is_open(Weekday::Sat, 60));
        assert!(!h.is_open(Weekday::Sat, 21 * 60));
        assert_eq!(h.day_ranges().len(), 2);
    }

    #[test]
    fn weekly_hours_text_round_trips() {
        let h: WeeklyHours = "mon-fri 09:00-12:00,13:00-16:00; sat 10:00-12:00"
            .parse()
            .unwrap();
        assert!(h.is_open(Weekday::Wed, 9 * 60));
        assert!(!h.is_open(Weekday::Wed, 12 * 60 + 30));
        assert!(!h.is_open(Weekday::Sun, 10 * 60));
        let again: WeeklyHours = h.to_string().parse().unwrap();
        assert_eq!(again, h);
        assert!("mon 09:00-12:00,11:00-13:00".parse::<WeeklyHours>().is_err());
        assert!("funday 09:00-12:00".parse::<WeeklyHours>().is_err());
    }
}
