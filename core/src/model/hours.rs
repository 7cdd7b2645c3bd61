//! Weekly opening hours with several ranges a day, including ranges that run past midnight
//! (night shelters open 20:00-08:00).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::codes::Weekday;

/// One opening range in minutes after midnight. `close` before `open` means the range runs
/// overnight into the next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimeRange {
    /// Opening minute, 0..1440.
    pub open: i32,
    /// Closing minute, 1..=1440 (1440 = midnight at the end of the day).
    pub close: i32,
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

fn minutes(h: u16, m: u16) -> Option<i32> {
    (h < 24 && m < 60).then_some(i32::from(h * 60 + m))
}

fn parse_time(s: &str) -> Option<i32> {
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

fn fmt_time(f: &mut fmt::Formatter<'_>, m: i32) -> fmt::Result {
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
        let minute = i32::from(minute);
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

    /// Every range after splitting overnight ranges at midnight, with the day it falls on and
    /// whether it spilled from the day before: what an index stores.
    pub fn day_ranges(&self) -> Vec<(Weekday, TimeRange, bool)> {
        let mut out = Vec::new();
        for (day, ranges) in &self.0 {
            for r in ranges {
                let (own, next) = r.split();
                out.push((*day, own, false));
                if let Some(next) = next {
                    out.push((day.next(), next, true));
                }
            }
        }
        out
    }

    /// Checks the ranges of each day: at most 6, each within the day and not empty (as
    /// [`TimeRange::new`] makes them), none overlapping.
    pub fn check(&self) -> Result<(), InvalidHours> {
        self.0.values().try_for_each(|ranges| check_day(ranges))
    }
}

/// Checks the ranges of one day: at most 6, each within the day and not empty, none overlapping.
fn check_day(ranges: &[TimeRange]) -> Result<(), InvalidHours> {
    let impossible =
        |r: &TimeRange| !(0..1440).contains(&r.open) || !(1..=1440).contains(&r.close) || r.open == r.close;
    if ranges.len() > 6 || ranges.iter().any(impossible) {
        return Err(InvalidHours);
    }
    let mut sorted: Vec<_> = ranges.iter().map(|r| r.split().0).collect();
    sorted.sort();
    if sorted.windows(2).any(|w| w[1].open < w[0].close) {
        return Err(InvalidHours);
    }
    Ok(())
}

/// Longest dated exception, in days: a year (a closure for works, a summer schedule).
pub const EXCEPTION_MAX_DAYS: i64 = 366;
/// Most dated exceptions an office or a service keeps.
pub const EXCEPTIONS_MAX: usize = 50;

/// A dated exception to the weekly hours (HSDS `schedule` with `valid_from`/`valid_to`): from
/// `from` to `to`, both included, the place keeps `ranges` every day instead of its weekly hours;
/// no ranges is a closure (a public holiday, the Christmas break). Where exceptions overlap, the
/// one that starts last applies (a day of special hours inside a closure).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HoursException {
    /// First day.
    pub from: NaiveDate,
    /// Last day (the same as `from` for one day).
    pub to: NaiveDate,
    /// The hours of each of those days; empty: closed.
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub ranges: Vec<TimeRange>,
}

/// The text was not a dated exception such as `2026-12-24..2027-01-01 closed`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "expected a day or days and their hours, such as 2026-12-24..2027-01-01 closed or 2026-12-31 09:00-12:00 \
     (at most {EXCEPTION_MAX_DAYS} days, the first not after the last)"
)]
pub struct InvalidException;

impl HoursException {
    /// Closed from `from` to `to`, both included.
    pub fn closed(from: NaiveDate, to: NaiveDate) -> HoursException {
        HoursException {
            from,
            to,
            ranges: Vec::new(),
        }
    }

    /// Whether this exception covers `date`.
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    /// Checks the days (in order, at most [`EXCEPTION_MAX_DAYS`]) and the ranges (as a day of
    /// [`WeeklyHours::check`]).
    pub fn check(&self) -> Result<(), InvalidException> {
        let days = (self.to - self.from).num_days() + 1;
        if !(1..=EXCEPTION_MAX_DAYS).contains(&days) {
            return Err(InvalidException);
        }
        check_day(&self.ranges).map_err(|_| InvalidException)
    }

    /// The value kept in the document under the key `from`: `TO closed` or `TO RANGES`.
    pub fn stored_value(&self) -> String {
        let ranges = match self.ranges.is_empty() {
            true => "closed".to_string(),
            false => format_ranges(&self.ranges),
        };
        format!("{} {ranges}", self.to)
    }

    /// Reads what [`stored_value`](Self::stored_value) wrote, under the key `from`.
    pub fn from_stored(from: NaiveDate, value: &str) -> Result<HoursException, InvalidException> {
        let (to, ranges) = value.split_once(' ').ok_or(InvalidException)?;
        let to = parse_day(to)?;
        let ranges = match ranges.trim() {
            "closed" => Vec::new(),
            r => parse_ranges(r).map_err(|_| InvalidException)?,
        };
        let e = HoursException { from, to, ranges };
        e.check()?;
        Ok(e)
    }
}

fn parse_day(s: &str) -> Result<NaiveDate, InvalidException> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| InvalidException)
}

impl FromStr for HoursException {
    type Err = InvalidException;

    /// Parses `2026-12-24..2027-01-01 closed`, `2026-12-31 09:00-12:00` (one day) or
    /// `2026-07-01..2026-08-31 10:00-12:00`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (days, ranges) = s.trim().split_once(char::is_whitespace).ok_or(InvalidException)?;
        let (from, to) = days.split_once("..").unwrap_or((days, days));
        let (from, to) = (parse_day(from)?, parse_day(to)?);
        let ranges = match ranges.trim() {
            "closed" => Vec::new(),
            r => parse_ranges(r).map_err(|_| InvalidException)?,
        };
        let e = HoursException { from, to, ranges };
        e.check()?;
        Ok(e)
    }
}

impl fmt::Display for HoursException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.from == self.to {
            write!(f, "{} ", self.from)?;
        } else {
            write!(f, "{}..{} ", self.from, self.to)?;
        }
        match self.ranges.is_empty() {
            true => f.write_str("closed"),
            false => f.write_str(&format_ranges(&self.ranges)),
        }
    }
}

/// Weekly hours with their dated exceptions: when a place is open on a given day.
#[derive(Debug, Clone, Copy)]
pub struct Opening<'a> {
    /// The weekly hours.
    pub weekly: &'a WeeklyHours,
    /// The dated exceptions.
    pub exceptions: &'a [HoursException],
}

impl Opening<'_> {
    /// The exception that applies on `date`: of those that cover it, the one that starts last.
    pub fn exception_on(&self, date: NaiveDate) -> Option<&HoursException> {
        self.exceptions
            .iter()
            .filter(|e| e.covers(date))
            .max_by_key(|e| (e.from, e.to))
    }

    /// The ranges of `date`: an exception's, else the weekly ones of its weekday.
    pub fn ranges_on(&self, date: NaiveDate) -> &[TimeRange] {
        match self.exception_on(date) {
            Some(e) => &e.ranges,
            None => self.weekly.day(Weekday::from_chrono(date.weekday())),
        }
    }

    /// Whether the place is open on `date` at `minute` after midnight, counting an overnight
    /// range that began the day before (whose own day's hours decide it).
    pub fn is_open(&self, date: NaiveDate, minute: u16) -> bool {
        let minute = i32::from(minute);
        let covers = |r: &TimeRange| r.open <= minute && minute < r.close;
        let today = self.ranges_on(date).iter().any(|r| covers(&r.split().0));
        let spill = date.pred_opt().is_some_and(|prev| {
            self.ranges_on(prev)
                .iter()
                .filter_map(|r| r.split().1)
                .any(|r| covers(&r))
        });
        today || spill
    }

    /// Every day an exception decides, with its ranges split at midnight (each with the day it
    /// falls on and whether it spilled from the day before): what an index stores beside the
    /// weekly rows.
    pub fn dated_ranges(&self) -> Vec<(NaiveDate, Vec<(NaiveDate, TimeRange)>)> {
        let mut days: Vec<NaiveDate> = self
            .exceptions
            .iter()
            .flat_map(|e| e.from.iter_days().take_while(move |d| *d <= e.to))
            .collect();
        days.sort();
        days.dedup();
        days.into_iter()
            .map(|d| {
                let mut parts = Vec::new();
                for r in self.ranges_on(d) {
                    let (own, next) = r.split();
                    parts.push((d, own));
                    if let (Some(next), Some(tomorrow)) = (next, d.succ_opt()) {
                        parts.push((tomorrow, next));
                    }
                }
                (d, parts)
            })
            .collect()
    }
}

impl FromStr for WeeklyHours {
    type Err = InvalidHours;

    /// Parses `mon-fri 09:00-12:00,13:00-16:00; sat 10:00-12:00` (day groups separated by `;`);
    /// `closed` (as [`Display`](fmt::Display) writes no hours) or nothing is no hours.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut hours = WeeklyHours::default();
        if s.trim() == "closed" {
            return Ok(hours);
        }
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
    /// Runs of days that share their ranges grouped (`mon-fri 09:00-12:00; sat 10:00-12:00`),
    /// as [`FromStr`] reads them; `closed` for no hours.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut groups: Vec<(Weekday, Weekday, &[TimeRange])> = Vec::new();
        for &day in Weekday::ALL {
            let ranges = self.day(day);
            if ranges.is_empty() {
                continue;
            }
            match groups.last_mut() {
                Some((_, last, shared)) if *shared == ranges && last.next() == day => *last = day,
                _ => groups.push((day, day, ranges)),
            }
        }
        if groups.is_empty() {
            return f.write_str("closed");
        }
        for (i, (first, last, ranges)) in groups.into_iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            match first == last {
                true => write!(f, "{first} {}", format_ranges(ranges))?,
                false => write!(f, "{first}-{last} {}", format_ranges(ranges))?,
            }
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
        assert_eq!(h.to_string(), "mon-fri 09:00-12:00,13:00-16:00; sat 10:00-12:00");
        let again: WeeklyHours = h.to_string().parse().unwrap();
        assert_eq!(again, h);
        assert_eq!(
            WeeklyHours::closed().to_string().parse::<WeeklyHours>().unwrap(),
            WeeklyHours::closed()
        );
        assert!("mon 09:00-12:00,11:00-13:00".parse::<WeeklyHours>().is_err());
        assert!("funday 09:00-12:00".parse::<WeeklyHours>().is_err());
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn exceptions_parse_and_round_trip() {
        let e: HoursException = "2026-12-24..2027-01-01 closed".parse().unwrap();
        assert_eq!(e, HoursException::closed(day("2026-12-24"), day("2027-01-01")));
        assert_eq!(e.to_string(), "2026-12-24..2027-01-01 closed");
        let one: HoursException = "2026-12-31 09:00-12:00".parse().unwrap();
        assert_eq!((one.from, one.to), (day("2026-12-31"), day("2026-12-31")));
        assert_eq!(one.to_string(), "2026-12-31 09:00-12:00");
        assert_eq!(
            HoursException::from_stored(one.from, &one.stored_value()).unwrap(),
            one
        );
        for bad in [
            "2026-12-24",
            "2027-01-01..2026-12-24 closed",
            "2026-01-01..2027-06-01 closed",
            "2026-12-31 09:00-12:00,11:00-13:00",
            "24/12/2026 closed",
        ] {
            assert!(bad.parse::<HoursException>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_exception_replaces_the_weekly_hours_of_its_days() {
        let weekly: WeeklyHours = "mon-fri 09:00-17:00; fri 20:00-02:00".parse().unwrap();
        let exceptions = vec![
            "2026-12-24..2027-01-01 closed".parse().unwrap(),
            "2026-12-31 10:00-12:00".parse().unwrap(),
        ];
        let o = Opening {
            weekly: &weekly,
            exceptions: &exceptions,
        };
        // Thursday 2026-12-17: the weekly hours.
        assert!(o.is_open(day("2026-12-17"), 10 * 60));
        // Thursday 2026-12-24: closed for the holidays.
        assert!(!o.is_open(day("2026-12-24"), 10 * 60));
        // Thursday 2026-12-31: special hours inside the closure.
        assert!(o.is_open(day("2026-12-31"), 11 * 60));
        assert!(!o.is_open(day("2026-12-31"), 13 * 60));
        // Friday 2026-12-18 runs past midnight into Saturday; Friday 2027-01-01 is closed, so
        // Saturday 2027-01-02 at 01:00 is too.
        assert!(o.is_open(day("2026-12-19"), 60));
        assert!(!o.is_open(day("2027-01-02"), 60));
        let dated = o.dated_ranges();
        assert_eq!(dated.len(), 9);
        let (d, parts) = &dated[7];
        assert_eq!((*d, parts.len()), (day("2026-12-31"), 1));
    }
}
