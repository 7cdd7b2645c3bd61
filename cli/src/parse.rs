//! Parsers for command-line values: the model's codes (listing the valid ones when a value is
//! not one of them), `KEY=N` counts, referrals, dates, times and points.

use std::ffi::OsStr;
use std::marker::PhantomData;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime};
use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use outreach_core::model::{
    Activity, AgeBand, Audience, Gender, HoursException, Lang, OrgKind, PartOfDay, PartnerStatus, Referral,
    Region, Setting, Theme, WeeklyHours,
};

/// A closed vocabulary of the model, with every code known in advance.
pub trait Vocabulary: Copy + Send + Sync + 'static {
    /// Every value.
    fn all() -> &'static [Self];
    /// The value's code.
    fn code(self) -> &'static str;
}

macro_rules! vocabulary {
    ($($t:ty),+) => {
        $(impl Vocabulary for $t {
            fn all() -> &'static [Self] {
                <$t>::ALL
            }

            fn code(self) -> &'static str {
                self.as_str()
            }
        })+
    };
}

vocabulary!(
    Theme,
    Region,
    OrgKind,
    PartnerStatus,
    PartOfDay,
    Setting,
    Activity,
    Gender,
    AgeBand,
    Audience
);

/// Finds the value of a code, forgiving case, surrounding spaces and `-` for `_`.
fn lookup<T: Vocabulary>(text: &str) -> Option<T> {
    let wanted = text.trim().to_ascii_lowercase().replace('-', "_");
    T::all().iter().copied().find(|v| v.code() == wanted)
}

/// Parses a code of a vocabulary; the error lists the valid codes.
pub fn vocab<T: Vocabulary>(text: &str) -> Result<T, String> {
    lookup(text).ok_or_else(|| {
        let codes: Vec<&str> = T::all().iter().map(|v| v.code()).collect();
        format!("expected one of {}", codes.join(", "))
    })
}

/// A clap value parser for a vocabulary, so that `--help` lists the codes.
#[derive(Debug)]
pub struct CodeParser<T>(PhantomData<fn() -> T>);

impl<T> Clone for CodeParser<T> {
    fn clone(&self) -> Self {
        CodeParser(PhantomData)
    }
}

/// The value parser of vocabulary `T`.
pub fn code<T: Vocabulary>() -> CodeParser<T> {
    CodeParser(PhantomData)
}

impl<T: Vocabulary> TypedValueParser for CodeParser<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<T, clap::Error> {
        if let Some(found) = value.to_str().and_then(lookup) {
            return Ok(found);
        }
        let mut err = clap::Error::new(ErrorKind::InvalidValue).with_cmd(cmd);
        if let Some(arg) = arg {
            err.insert(ContextKind::InvalidArg, ContextValue::String(arg.to_string()));
        }
        err.insert(
            ContextKind::InvalidValue,
            ContextValue::String(value.to_string_lossy().into_owned()),
        );
        let codes = T::all().iter().map(|v| v.code().to_owned()).collect();
        err.insert(ContextKind::ValidValue, ContextValue::Strings(codes));
        Err(err)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(T::all().iter().map(|v| PossibleValue::new(v.code()))))
    }
}

/// Parses a value with its `FromStr`, keeping the error's message.
pub fn from_str<T>(text: &str) -> Result<T, String>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    text.trim().parse().map_err(|e: T::Err| e.to_string())
}

/// A parser of `KEY=N` counts (`female=2`, `SY=3`, `<brochure id>=10`) with `key` for the key.
pub fn counted<K: 'static>(
    key: fn(&str) -> Result<K, String>,
) -> impl Fn(&str) -> Result<(K, u32), String> + Clone + Send + Sync + 'static {
    move |text| {
        let (k, n) = text
            .split_once('=')
            .ok_or("expected KEY=N, for example female=2")?;
        let n = n
            .trim()
            .parse()
            .map_err(|_| "the count after = must be a whole number")?;
        Ok((key(k)?, n))
    }
}

/// Parses `LANG=TEXT` (a description in one language); the text may be empty.
pub fn lang_text(text: &str) -> Result<(Lang, String), String> {
    let (lang, text) = text
        .split_once('=')
        .ok_or("expected LANG=TEXT, for example fr=Aide juridique")?;
    Ok((from_str(lang)?, text.trim().to_owned()))
}

/// Parses `PARTNER_ID:THEME`.
pub fn referral(text: &str) -> Result<Referral, String> {
    let (partner, theme) = text.split_once(':').ok_or("expected PARTNER_ID:THEME")?;
    Ok(Referral {
        partner: from_str(partner)?,
        theme: vocab(theme)?,
    })
}

/// Parses a `YYYY-MM-DD` date.
pub fn date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| "expected a date as YYYY-MM-DD".to_owned())
}

/// Parses a local `YYYY-MM-DD HH:MM` date and time (a `T` may stand for the space).
pub fn date_time(text: &str) -> Result<NaiveDateTime, String> {
    let text = text.trim();
    ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .ok_or_else(|| "expected a local date and time as \"YYYY-MM-DD HH:MM\"".to_owned())
}

/// Parses `LAT,LON` in decimal degrees.
pub fn point(text: &str) -> Result<(f64, f64), String> {
    let bad = || "expected LAT,LON in decimal degrees, for example 50.85,4.35".to_owned();
    let (lat, lon) = text.split_once(',').ok_or_else(bad)?;
    let lat: f64 = lat.trim().parse().map_err(|_| bad())?;
    let lon: f64 = lon.trim().parse().map_err(|_| bad())?;
    if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) {
        Ok((lat, lon))
    } else {
        Err(bad())
    }
}

/// Parses weekly opening hours such as `mon-fri 09:00-12:00,13:00-16:00; sat 10:00-12:00`.
pub fn hours(text: &str) -> Result<WeeklyHours, String> {
    text.parse().map_err(|_| {
        "expected opening hours like \"mon-fri 09:00-12:00,13:00-16:00; sat 10:00-12:00\"".to_owned()
    })
}

/// Parses a Belgian postcode: four digits, 1000 to 9999.
pub fn postcode(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(p) if (1000..=9999).contains(&p) => Ok(p),
        _ => Err("expected a Belgian postcode: four digits, 1000 to 9999".to_owned()),
    }
}

/// Parses a closure, `FROM[..TO]` (both days included), as `--closed` takes it.
pub fn closure(text: &str) -> Result<HoursException, String> {
    format!("{} closed", text.trim())
        .parse()
        .map_err(|_| "expected a day or days such as 2026-12-24..2027-01-01 (at most a year)".to_owned())
}

/// Parses special hours on a day or days, `FROM[..TO]=RANGES`, as `--special` takes it.
pub fn special(text: &str) -> Result<HoursException, String> {
    let bad = || "expected a day or days and their hours such as 2026-12-31=09:00-12:00".to_owned();
    let (days, ranges) = text.split_once('=').ok_or_else(bad)?;
    if ranges.trim().is_empty() {
        return Err(bad());
    }
    format!("{} {}", days.trim(), ranges.trim())
        .parse()
        .map_err(|_| bad())
}

/// An age, as `partners stale --older-than` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Age {
    /// A number of days (`d`) or weeks (`w`, seven days each).
    Days(u32),
    /// A number of calendar months (`m`) or years (`y`, twelve months each).
    Months(u32),
}

impl Age {
    /// The day this age before `today`: entries verified before it are older.
    pub fn before(self, today: NaiveDate) -> NaiveDate {
        match self {
            Age::Days(n) => today - chrono::Days::new(n.into()),
            Age::Months(n) => today - chrono::Months::new(n),
        }
        .max(NaiveDate::MIN)
    }
}

impl std::fmt::Display for Age {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Age::Days(n) => write!(f, "{n} days"),
            Age::Months(n) => write!(f, "{n} months"),
        }
    }
}

/// Parses an age: a number and a unit, `d` (days), `w` (weeks), `m` (months) or `y` (years),
/// at most 100 years.
pub fn age(text: &str) -> Result<Age, String> {
    const HINT: &str = "expected an age such as 90d, 8w, 6m or 1y";
    let text = text.trim();
    let (n, unit) = text.split_at(text.len().saturating_sub(1));
    let n: u32 = n.parse().map_err(|_| HINT.to_owned())?;
    let age = match unit {
        "d" => Age::Days(n),
        "w" => Age::Days(n.checked_mul(7).ok_or_else(|| HINT.to_owned())?),
        "m" => Age::Months(n),
        "y" => Age::Months(n.checked_mul(12).ok_or_else(|| HINT.to_owned())?),
        _ => return Err(HINT.to_owned()),
    };
    let too_old = match age {
        Age::Days(d) => d > 36_525,
        Age::Months(m) => m > 1_200,
    };
    if too_old {
        return Err("an age of at most 100 years".to_owned());
    }
    Ok(age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use outreach_core::model::{Country, PartnerId};

    #[test]
    fn codes_are_forgiving_and_errors_list_them() {
        assert_eq!(vocab::<Theme>(" Voluntary-Return "), Ok(Theme::VoluntaryReturn));
        assert_eq!(vocab::<AgeBand>("18-25"), Ok(AgeBand::From18To25));
        assert!(vocab::<Gender>("x").unwrap_err().contains("female, male, other"));
    }

    #[test]
    fn counts_referrals_and_texts_parse() {
        assert_eq!(counted(vocab::<Gender>)("female=2"), Ok((Gender::Female, 2)));
        assert_eq!(counted(from_str::<Country>)("sy=3").unwrap().0.as_str(), "SY");
        assert!(counted(vocab::<Gender>)("female").is_err());
        assert!(counted(vocab::<Gender>)("female=two").is_err());
        let id = PartnerId::random();
        let r = referral(&format!("{id}:legal")).unwrap();
        assert_eq!((r.partner, r.theme), (id, Theme::Legal));
        assert_eq!(lang_text("fr=Aide = soutien").unwrap().1, "Aide = soutien");
    }

    #[test]
    fn dates_times_and_points_parse() {
        assert!(date("2026-11-20").is_ok());
        assert!(date("20/11/2026").is_err());
        assert_eq!(date_time("2026-11-16T10:30"), date_time("2026-11-16 10:30"));
        assert_eq!(point("50.85, 4.35"), Ok((50.85, 4.35)));
        assert!(point("50.85").is_err());
        assert!(point("95,4").is_err());
        assert!(hours("mon-fri 09:00-12:00").is_ok());
        assert!(hours("weekdays").is_err());
    }

    #[test]
    fn ages_are_days_weeks_months_or_years() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(age("6m").unwrap().before(today), day(2026, 6, 1));
        assert_eq!(age("1y").unwrap().before(today), day(2025, 12, 1));
        assert_eq!(age("2w").unwrap().before(today), day(2026, 11, 17));
        assert_eq!(age(" 90d ").unwrap().before(today), day(2026, 9, 2));
        for bad in ["", "6", "m", "6x", "-1m", "101y", "99999999999d", "6 m"] {
            assert!(age(bad).is_err(), "{bad:?}");
        }
    }
}
