//! Closed vocabularies with stable string codes: themes, regions, settings and the other
//! enumerations of the model. Codes are what documents, the read model and the hub store, so
//! they never change once released; labels for screens belong to the apps.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The value was not one of the known codes of its vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {vocabulary} code")]
pub struct UnknownCode {
    /// Which vocabulary was asked (for example `theme`).
    pub vocabulary: &'static str,
}

macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $vocabulary:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code stored in documents and sent over the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownCode;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($code => Ok($name::$variant),)+
                    _ => Err(UnknownCode { vocabulary: $vocabulary }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

code_enum! {
    /// Theme taxonomy shared by partners, services, brochures and visits (CONEX themes plus
    /// the ones frontline workers asked for).
    Theme, "theme" {
        /// Psychosocial support.
        Psychosocial = "psychosocial",
        /// Administrative help (documents, registrations).
        Administrative = "administrative",
        /// Legal advice and representation.
        Legal = "legal",
        /// Work and training.
        Employment = "employment",
        /// Material help: food, clothes, hygiene.
        Material = "material",
        /// Medical care, including urgent medical aid.
        Medical = "medical",
        /// Cultural and community activities.
        Cultural = "cultural",
        /// The voluntary return programme.
        VoluntaryReturn = "voluntary_return",
        /// Reintegration support in the country of origin.
        Reintegration = "reintegration",
        /// Residence procedures in Belgium (regularisation, family reunification...).
        ResidenceProcedures = "residence_procedures",
        /// Social rights of people without legal residence.
        SocialRights = "social_rights",
        /// International protection (asylum).
        InternationalProtection = "international_protection",
        /// Shelter and night shelter.
        Shelter = "shelter",
        /// Education and language classes.
        Education = "education",
    }
}

code_enum! {
    /// Belgian regions used to split the directory: the ten provinces and Brussels-Capital.
    Region, "region" {
        /// Brussels-Capital Region.
        Brussels = "brussels",
        /// Province of Antwerp.
        Antwerp = "antwerp",
        /// Province of Limburg.
        Limburg = "limburg",
        /// Province of East Flanders.
        EastFlanders = "east_flanders",
        /// Province of West Flanders.
        WestFlanders = "west_flanders",
        /// Province of Flemish Brabant.
        FlemishBrabant = "flemish_brabant",
        /// Province of Walloon Brabant.
        WalloonBrabant = "walloon_brabant",
        /// Province of Hainaut.
        Hainaut = "hainaut",
        /// Province of Liège.
        Liege = "liege",
        /// Province of Luxembourg.
        Luxembourg = "luxembourg",
        /// Province of Namur.
        Namur = "namur",
    }
}

impl Region {
    /// The region a Belgian postcode belongs to (bpost's postcode ranges).
    pub fn of_postcode(postcode: u16) -> Option<Region> {
        Some(match postcode {
            1000..=1299 => Region::Brussels,
            1300..=1499 => Region::WalloonBrabant,
            1500..=1999 | 3000..=3499 => Region::FlemishBrabant,
            2000..=2999 => Region::Antwerp,
            3500..=3999 => Region::Limburg,
            4000..=4999 => Region::Liege,
            5000..=5999 => Region::Namur,
            6000..=6599 | 7000..=7999 => Region::Hainaut,
            6600..=6999 => Region::Luxembourg,
            8000..=8999 => Region::WestFlanders,
            9000..=9999 => Region::EastFlanders,
            _ => return None,
        })
    }
}

code_enum! {
    /// Kind of organisation, for display and filtering.
    OrgKind, "organisation kind" {
        /// Federal or regional public agency (Fedasil...).
        PublicAgency = "public_agency",
        /// Service of a city or municipality (CPAS/OCMW, city outreach teams).
        CityService = "city_service",
        /// Centre for general welfare (CAW).
        WelfareCentre = "welfare_centre",
        /// International organisation (IOM...).
        InternationalOrganisation = "international_organisation",
        /// Non-governmental organisation (Caritas International...).
        Ngo = "ngo",
        /// Health service or medical NGO.
        HealthService = "health_service",
        /// Legal aid service or bar association desk.
        LegalService = "legal_service",
        /// Diaspora or community association.
        DiasporaAssociation = "diaspora_association",
        /// Any other kind.
        Other = "other",
    }
}

code_enum! {
    /// Status of a partner or service: never deleted, only closed (HSDS `status`).
    PartnerStatus, "status" {
        /// Operating normally.
        Active = "active",
        /// No longer offering services for now.
        Inactive = "inactive",
        /// Closed for good; kept so that history and concurrent edits are not lost.
        Defunct = "defunct",
        /// Closed for a while (works, holidays).
        TemporarilyClosed = "temporarily_closed",
    }
}

code_enum! {
    /// Who a brochure is written for.
    Audience, "audience" {
        /// People in a precarious situation themselves.
        Migrants = "migrants",
        /// Frontline staff and volunteers.
        FrontlineStaff = "frontline_staff",
    }
}

code_enum! {
    /// Part of the day of a visit: the only time granularity a visit keeps.
    PartOfDay, "part of day" {
        /// Before noon.
        Morning = "morning",
        /// Noon to 18:00.
        Afternoon = "afternoon",
        /// 18:00 to 22:00.
        Evening = "evening",
        /// After 22:00.
        Night = "night",
    }
}

code_enum! {
    /// Kind of place where a visit happened; never a precise location.
    Setting, "setting" {
        /// In the street.
        Street = "street",
        /// Shelter or night shelter.
        Shelter = "shelter",
        /// Day centre.
        DayCentre = "day_centre",
        /// Soup kitchen or social restaurant.
        SoupKitchen = "soup_kitchen",
        /// Diaspora or community association.
        DiasporaAssociation = "diaspora_association",
        /// Information session.
        InformationSession = "information_session",
        /// Return desk (terugkeerloket / guichet retour).
        ReturnDesk = "return_desk",
        /// By phone or online.
        PhoneOrOnline = "phone_or_online",
        /// Anywhere else.
        Other = "other",
    }
}

code_enum! {
    /// What kind of outreach a visit was.
    Activity, "activity" {
        /// One person or one family.
        IndividualContact = "individual_contact",
        /// A group session.
        GroupSession = "group_session",
        /// A briefing of a partner organisation's staff.
        PartnerBriefing = "partner_briefing",
    }
}

code_enum! {
    /// Gender breakdown bands of a visit (optional counts).
    Gender, "gender" {
        /// Women and girls.
        Female = "female",
        /// Men and boys.
        Male = "male",
        /// Another gender identity.
        Other = "other",
    }
}

code_enum! {
    /// Age bands of a visit (optional counts). Wide on purpose: never an exact age.
    AgeBand, "age band" {
        /// Minors.
        Under18 = "under_18",
        /// 18 to 25.
        From18To25 = "18_25",
        /// 26 to 35.
        From26To35 = "26_35",
        /// 36 to 50.
        From36To50 = "36_50",
        /// Over 50.
        Over50 = "over_50",
    }
}

code_enum! {
    /// Day of the week for opening hours.
    Weekday, "weekday" {
        /// Monday.
        Mon = "mon",
        /// Tuesday.
        Tue = "tue",
        /// Wednesday.
        Wed = "wed",
        /// Thursday.
        Thu = "thu",
        /// Friday.
        Fri = "fri",
        /// Saturday.
        Sat = "sat",
        /// Sunday.
        Sun = "sun",
    }
}

impl Weekday {
    /// Index from Monday = 0.
    pub fn index(self) -> u8 {
        self as u8
    }

    /// The day after this one.
    pub fn next(self) -> Weekday {
        Weekday::ALL[(self.index() as usize + 1) % 7]
    }

    /// Converts from chrono's weekday.
    pub fn from_chrono(day: chrono::Weekday) -> Weekday {
        Weekday::ALL[day.num_days_from_monday() as usize]
    }
}

/// ISO 639-1 codes, plus the ISO 639-3 codes of languages often met in outreach that have no
/// two-letter code (Dari, Sorani, Kurmanji, Romani, Arabic varieties, Belgian sign languages...).
const LANGUAGES: &[&str] = &[
    "aa", "ab", "ae", "af", "ak", "am", "an", "apc", "ar", "ars", "ary", "arz", "as", "av", "ay", "az", "ba",
    "be", "bg", "bi", "bm", "bn", "bo", "br", "bs", "ca", "ce", "ch", "ckb", "co", "cr", "cs", "cu", "cv",
    "cy", "da", "de", "dv", "dyu", "dz", "ee", "el", "en", "eo", "es", "et", "eu", "fa", "ff", "fi", "fil",
    "fj", "fo", "fr", "fy", "ga", "gd", "gl", "gn", "gu", "gv", "ha", "he", "hi", "ho", "hr", "ht", "hu",
    "hy", "hz", "ia", "id", "ie", "ig", "ii", "ik", "io", "is", "it", "iu", "ja", "jv", "ka", "kab", "kg",
    "ki", "kj", "kk", "kl", "km", "kmr", "kn", "ko", "kr", "ks", "ku", "kv", "kw", "ky", "la", "lb", "lg",
    "li", "ln", "lo", "lt", "lu", "lv", "mg", "mh", "mi", "mk", "ml", "mn", "mnk", "mr", "ms", "mt", "my",
    "na", "nb", "nd", "ne", "ng", "nl", "nn", "no", "nr", "nv", "ny", "oc", "oj", "om", "or", "os", "pa",
    "pcm", "pi", "pl", "prs", "ps", "pt", "qu", "rm", "rn", "ro", "rom", "ru", "rw", "sa", "sc", "sd", "se",
    "sfb", "sg", "si", "sk", "sl", "sm", "sn", "so", "sq", "sr", "ss", "st", "su", "sus", "sv", "sw", "ta",
    "te", "tg", "th", "ti", "tk", "tl", "tn", "to", "tr", "ts", "tt", "tw", "ty", "tzm", "ug", "uk", "ur",
    "uz", "ve", "vgt", "vi", "vo", "wa", "wo", "xh", "yi", "yo", "za", "zh", "zu",
];

/// ISO 3166-1 alpha-2 codes, plus `XK` (Kosovo, the user-assigned code in common use).
const COUNTRIES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA",
    "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV",
    "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU",
    "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES",
    "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM",
    "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT", "HU", "ID", "IE",
    "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM",
    "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY",
    "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT",
    "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU",
    "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA",
    "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM",
    "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL",
    "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE",
    "VG", "VI", "VN", "VU", "WF", "WS", "XK", "YE", "YT", "ZA", "ZM", "ZW",
];

macro_rules! listed_code {
    ($(#[$meta:meta])* $name:ident, $vocabulary:literal, $list:ident, $normalise:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(&'static str);

        impl $name {
            /// Every known code, sorted.
            pub fn all() -> impl Iterator<Item = $name> {
                $list.iter().map(|c| $name(c))
            }

            /// The code as stored.
            pub fn as_str(&self) -> &'static str {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = UnknownCode;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().$normalise();
                $list
                    .binary_search(&wanted.as_str())
                    .map(|i| $name($list[i]))
                    .map_err(|_| UnknownCode { vocabulary: $vocabulary })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

listed_code! {
    /// A language code (ISO 639-1, or ISO 639-3 where no two-letter code exists), lower case.
    Lang, "language", LANGUAGES, to_ascii_lowercase
}

listed_code! {
    /// A country code (ISO 3166-1 alpha-2), upper case.
    Country, "country", COUNTRIES, to_ascii_uppercase
}

impl Lang {
    /// Shorthand for a code known to be valid (for constants and tests); `None` if unknown.
    pub fn code(s: &str) -> Option<Lang> {
        s.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_and_unique() {
        assert!(LANGUAGES.windows(2).all(|w| w[0] < w[1]));
        assert!(COUNTRIES.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(COUNTRIES.len(), 250);
    }

    #[test]
    fn codes_round_trip() {
        for t in Theme::ALL {
            assert_eq!(t.as_str().parse::<Theme>().unwrap(), *t);
        }
        assert_eq!(Theme::ALL.len(), 14);
        assert_eq!(Region::ALL.len(), 11);
        assert_eq!("AR".parse::<Lang>().unwrap().as_str(), "ar");
        assert_eq!("sy".parse::<Country>().unwrap().as_str(), "SY");
        assert!("xx".parse::<Lang>().is_err());
        assert!("ZZ".parse::<Country>().is_err());
        let err = "legal_aid".parse::<Theme>().unwrap_err();
        assert_eq!(err.to_string(), "unknown theme code");
    }

    #[test]
    fn postcodes_map_to_regions() {
        assert_eq!(Region::of_postcode(1000), Some(Region::Brussels));
        assert_eq!(Region::of_postcode(3500), Some(Region::Limburg));
        assert_eq!(Region::of_postcode(6000), Some(Region::Hainaut));
        assert_eq!(Region::of_postcode(6700), Some(Region::Luxembourg));
        assert_eq!(Region::of_postcode(9000), Some(Region::EastFlanders));
        assert_eq!(Region::of_postcode(999), None);
    }

    #[test]
    fn weekdays_wrap() {
        assert_eq!(Weekday::Sun.next(), Weekday::Mon);
        assert_eq!(Weekday::from_chrono(chrono::Weekday::Wed), Weekday::Wed);
    }
}
