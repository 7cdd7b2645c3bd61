//! Seeded generators of realistic directory entries and visits, for benchmarks and tests: the
//! same seed gives the same data on every run.

use chrono::{Days, NaiveDate};
use outreach_core::model::{
    Activity, AgeBand, BrochureId, Country, Gender, Lang, Location, LocationId, OrgKind, PartOfDay, Partner,
    PartnerId, Phone, Referral, Region, Service, ServiceId, Setting, Theme, VisitDetails,
};
use rand::prelude::*;
use rand::rngs::StdRng;

/// A municipality: postcode, name, latitude, longitude.
type Place = (u16, &'static str, f64, f64);

/// Municipalities per region.
const PLACES: &[(Region, &[Place])] = &[
    (
        Region::Brussels,
        &[
            (1000, "Brussel", 50.846, 4.352),
            (1030, "Schaerbeek", 50.867, 4.373),
            (1070, "Anderlecht", 50.836, 4.308),
            (1080, "Molenbeek-Saint-Jean", 50.855, 4.322),
            (1210, "Saint-Josse-ten-Noode", 50.853, 4.371),
        ],
    ),
    (
        Region::Antwerp,
        &[
            (2000, "Antwerpen", 51.219, 4.402),
            (2060, "Antwerpen", 51.228, 4.428),
            (2800, "Mechelen", 51.028, 4.480),
            (2300, "Turnhout", 51.322, 4.944),
        ],
    ),
    (
        Region::Limburg,
        &[
            (3500, "Hasselt", 50.930, 5.332),
            (3600, "Genk", 50.965, 5.500),
            (3800, "Sint-Truiden", 50.816, 5.186),
            (3900, "Pelt", 51.214, 5.422),
        ],
    ),
    (
        Region::EastFlanders,
        &[
            (9000, "Gent", 51.054, 3.717),
            (9300, "Aalst", 50.937, 4.040),
            (9100, "Sint-Niklaas", 51.165, 4.144),
        ],
    ),
    (
        Region::WestFlanders,
        &[
            (8000, "Brugge", 51.209, 3.225),
            (8400, "Oostende", 51.230, 2.920),
            (8500, "Kortrijk", 50.828, 3.265),
        ],
    ),
    (
        Region::FlemishBrabant,
        &[
            (3000, "Leuven", 50.879, 4.700),
            (1800, "Vilvoorde", 50.928, 4.429),
            (3300, "Tienen", 50.807, 4.938),
        ],
    ),
    (
        Region::WalloonBrabant,
        &[
            (1300, "Wavre", 50.717, 4.601),
            (1400, "Nivelles", 50.598, 4.328),
            (1348, "Louvain-la-Neuve", 50.668, 4.612),
        ],
    ),
    (
        Region::Hainaut,
        &[
            (6000, "Charleroi", 50.411, 4.445),
            (7000, "Mons", 50.454, 3.952),
            (7500, "Tournai", 50.606, 3.388),
            (7100, "La Louvière", 50.479, 4.186),
        ],
    ),
    (
        Region::Liege,
        &[
            (4000, "Liège", 50.633, 5.580),
            (4800, "Verviers", 50.589, 5.862),
            (4500, "Huy", 50.519, 5.240),
        ],
    ),
    (
        Region::Luxembourg,
        &[
            (6700, "Arlon", 49.683, 5.816),
            (6900, "Marche-en-Famenne", 50.227, 5.344),
            (6600, "Bastogne", 50.000, 5.715),
        ],
    ),
    (
        Region::Namur,
        &[
            (5000, "Namur", 50.467, 4.867),
            (5500, "Dinant", 50.262, 4.912),
            (5300, "Andenne", 50.489, 5.096),
        ],
    ),
];

const ORG_PATTERNS: &[(&str, OrgKind)] = &[
    ("CAW {city}", OrgKind::WelfareCentre),
    ("OCMW {city}", OrgKind::CityService),
    ("CPAS de {city}", OrgKind::CityService),
    ("Médecins du Monde {city}", OrgKind::HealthService),
    ("Dokters van de Wereld {city}", OrgKind::HealthService),
    ("Free Clinic {city}", OrgKind::HealthService),
    ("Rode Kruis opvang {city}", OrgKind::Ngo),
    ("Croix-Rouge accueil {city}", OrgKind::Ngo),
    ("Vluchtelingenwerk {city}", OrgKind::Ngo),
    ("Service social des étrangers {city}", OrgKind::LegalService),
    ("Juridisch advies {city}", OrgKind::LegalService),
    ("Bureau d'aide juridique {city}", OrgKind::LegalService),
    ("Dagcentrum {city}", OrgKind::Ngo),
    ("Restaurant social {city}", OrgKind::Ngo),
    ("Nachtopvang {city}", OrgKind::Ngo),
    (
        "Association de la diaspora {nation} {city}",
        OrgKind::DiasporaAssociation,
    ),
    (
        "Vereniging {nation}e gemeenschap {city}",
        OrgKind::DiasporaAssociation,
    ),
    ("Centre de santé mentale {city}", OrgKind::HealthService),
    ("Stedelijke integratiedienst {city}", OrgKind::CityService),
    ("Maison de l'emploi {city}", OrgKind::CityService),
];

const NATIONS: &[&str] = &[
    "Congolese",
    "Guinese",
    "Marokkaans",
    "Eritrese",
    "Afghaans",
    "Syrisch",
    "Braziliaans",
    "Oekraïens",
    "Kameroense",
    "Albanees",
];

const DESCRIPTIONS_NL: &[&str] = &[
    "Gratis en anoniem onthaal voor mensen zonder wettig verblijf.",
    "Medische zorg en doorverwijzing naar dringende medische hulp.",
    "Juridisch advies over verblijfsprocedures en gezinshereniging.",
    "Warme maaltijden, douches en kledij; geen registratie nodig.",
    "Psychosociale begeleiding in verschillende talen.",
    "Informatie over vrijwillige terugkeer en re-integratie.",
];
const DESCRIPTIONS_FR: &[&str] = &[
    "Accueil gratuit et anonyme pour les personnes sans titre de séjour.",
    "Soins médicaux et orientation vers l'aide médicale urgente.",
    "Conseil juridique sur les procédures de séjour et le regroupement familial.",
    "Repas chauds, douches et vêtements ; sans inscription.",
    "Accompagnement psychosocial en plusieurs langues.",
    "Information sur le retour volontaire et la réintégration.",
];
const DESCRIPTIONS_EN: &[&str] = &[
    "Free, anonymous reception for people without legal residence.",
    "Medical care and referral to urgent medical aid.",
    "Legal advice on residence procedures and family reunification.",
    "Hot meals, showers and clothes; no registration needed.",
    "Psychosocial support in several languages.",
    "Information on voluntary return and reintegration.",
];
const SERVICES: &[&str] = &[
    "Onthaal",
    "Permanence juridique",
    "Medical consultation",
    "Soup kitchen",
    "Night shelter",
    "Language classes",
    "Job coaching",
    "Psychologische ondersteuning",
    "Aide administrative",
    "Return counselling",
    "Douches et lessive",
    "Infosessie sociale rechten",
];
const LANGS: &[&str] = &[
    "nl", "fr", "en", "ar", "ti", "fa", "prs", "ps", "so", "ru", "uk", "es", "pt", "tr", "ln", "sw",
];
const ORIGINS: &[&str] = &[
    "SY", "AF", "ER", "MA", "GN", "CD", "CM", "DZ", "PS", "IQ", "SO", "UA", "BR", "AL", "XK", "TN",
];

/// Sentences an outreach worker writes in a note: no identifiers, but times, counts, places.
pub const NOTE_SENTENCES: &[&str] = &[
    "Info session at the day centre, 14:00-15:30.",
    "Two men asked about voluntary return; brochure in French given.",
    "Referred to the legal desk for the regularisation procedure.",
    "Follow-up planned on Thursday at 10u.",
    "Groep van 6 personen, vooral vragen over dringende medische hulp.",
    "Gesprek in het Arabisch met tolk via telefoon.",
    "Beaucoup de questions sur l'aide médicale urgente.",
    "Rendez-vous pris au guichet retour pour la semaine prochaine.",
    "Night round near the station, cold weather, 3 people accepted the shelter.",
    "Vrouw met twee kinderen, doorverwezen naar het OCMW.",
    "Session d'information avec l'association, 25 participants.",
    "Asked for the free clinic opening hours; no appointment needed.",
    "Terugkeerloket donderdag tussen 9 en 12u.",
    "Questions about reintegration support and the journey.",
    "Material help needed: blankets and clothes.",
];

/// Seeded generator.
pub struct Gen {
    rng: StdRng,
}

impl Gen {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Gen {
        Gen {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }

    fn uuid(&mut self) -> uuid::Uuid {
        uuid::Builder::from_random_bytes(self.rng.random()).into_uuid()
    }

    fn lang(&mut self) -> Lang {
        Lang::code(self.pick::<&str>(LANGS)).unwrap_or_else(|| unreachable!())
    }

    fn themes(&mut self, n: usize) -> Vec<Theme> {
        (0..n).map(|_| *self.pick(Theme::ALL)).collect()
    }

    /// A partner in `region` with `services` services and `locations` locations.
    pub fn partner(&mut self, region: Region, services: usize, locations: usize) -> Partner {
        let places = PLACES
            .iter()
            .find(|(r, _)| *r == region)
            .map(|(_, p)| *p)
            .unwrap_or(PLACES[0].1);
        let (postcode, city, lat, lon) = *self.pick(places);
        let (pattern, kind) = *self.pick(ORG_PATTERNS);
        let name = pattern
            .replace("{city}", city)
            .replace("{nation}", self.pick::<&str>(NATIONS));
        let mut p = Partner::new(region, name, kind);
        p.id = PartnerId::from_uuid(self.uuid());
        let d = self.rng.random_range(0..DESCRIPTIONS_NL.len());
        p.description.insert(
            Lang::code("nl").unwrap_or_else(|| unreachable!()),
            DESCRIPTIONS_NL[d].into(),
        );
        p.description.insert(
            Lang::code("fr").unwrap_or_else(|| unreachable!()),
            DESCRIPTIONS_FR[d].into(),
        );
        if self.rng.random_bool(0.6) {
            p.description.insert(
                Lang::code("en").unwrap_or_else(|| unreachable!()),
                DESCRIPTIONS_EN[d].into(),
            );
        }
        let n = self.rng.random_range(1..4);
        p.themes.extend(self.themes(n));
        for _ in 0..self.rng.random_range(2..5) {
            let l = self.lang();
            p.languages.insert(l);
        }
        for _ in 0..services {
            let mut s = Service::new(*self.pick(SERVICES));
            s.id = ServiceId::from_uuid(self.uuid());
            s.themes.extend(self.themes(2));
            let l = self.lang();
            s.languages.insert(l);
            s.fees = Some("free".into());
            if self.rng.random_bool(0.3) {
                s.schedule = "tue,thu 13:00-16:00".parse().unwrap_or_default();
            }
            p.services.insert(s.id, s);
        }
        for i in 0..locations {
            let (pc, c, la, lo) = if i == 0 {
                (postcode, city, lat, lon)
            } else {
                *self.pick(places)
            };
            let mut l = Location::new(pc, c);
            l.id = LocationId::from_uuid(self.uuid());
            l.street = Some(format!("Stationsstraat {}", self.rng.random_range(1..200)));
            l.latitude = Some(la + self.rng.random_range(-0.01..0.01));
            l.longitude = Some(lo + self.rng.random_range(-0.01..0.01));
            l.hours = match self.rng.random_range(0..4) {
                0 => "mon-fri 09:00-12:00,13:00-16:00",
                1 => "mon-fri 09:00-17:00; sat 10:00-12:00",
                2 => "mon-sun 20:00-08:00",
                _ => "mon,wed,fri 10:00-15:00",
            }
            .parse()
            .unwrap_or_default();
            p.locations.insert(l.id, l);
        }
        p.phones.push(Phone {
            number: format!(
                "0{} {:02} {:02} {:02}",
                self.rng.random_range(10..99),
                self.rng.random_range(10..99),
                self.rng.random_range(10..99),
                self.rng.random_range(10..99)
            ),
            label: Some("reception".into()),
        });
        p.email = Some(format!("info{}@example.org", self.rng.random_range(1..9999)));
        p.website = Some("https://example.org".into());
        p.verified_on =
            NaiveDate::from_ymd_opt(2026, self.rng.random_range(1..11), self.rng.random_range(1..28));
        p.verified_by = Some("CONEX coordination".into());
        p
    }

    /// A directory of `n` partners spread over every region.
    pub fn directory(&mut self, n: usize, services: usize, locations: usize) -> Vec<Partner> {
        (0..n)
            .map(|i| self.partner(Region::ALL[i % Region::ALL.len()], services, locations))
            .collect()
    }

    /// A visit on `date`, referring to some of `partners` and giving some of `brochures`.
    pub fn visit(
        &mut self,
        date: NaiveDate,
        partners: &[PartnerId],
        brochures: &[BrochureId],
    ) -> VisitDetails {
        let region = *self.pick(Region::ALL);
        let places = PLACES
            .iter()
            .find(|(r, _)| *r == region)
            .map(|(_, p)| *p)
            .unwrap_or(PLACES[0].1);
        let (postcode, city, _, _) = *self.pick(places);
        let activity = *self.pick(Activity::ALL);
        let people = match activity {
            Activity::IndividualContact => self.rng.random_range(1..4),
            Activity::GroupSession => self.rng.random_range(4..40),
            Activity::PartnerBriefing => self.rng.random_range(2..15),
        };
        let mut v = VisitDetails::new(
            date,
            *self.pick(PartOfDay::ALL),
            postcode,
            city,
            *self.pick(Setting::ALL),
            activity,
            people,
        );
        if self.rng.random_bool(0.5) {
            let f = self.rng.random_range(0..=people);
            if f > 0 {
                v.by_gender.insert(Gender::Female, f);
            }
            if people > f {
                v.by_gender.insert(Gender::Male, people - f);
            }
        }
        if self.rng.random_bool(0.3) {
            v.by_age.insert(*self.pick(AgeBand::ALL), people);
        }
        for _ in 0..self.rng.random_range(1..3) {
            let l = self.lang();
            v.languages.insert(l);
        }
        if self.rng.random_bool(0.4) {
            let c: Country = (*self.pick(ORIGINS)).parse().unwrap_or_else(|_| unreachable!());
            v.origins.insert(c, self.rng.random_range(1..=people));
        }
        let n = self.rng.random_range(1..4);
        v.themes.extend(self.themes(n));
        if !brochures.is_empty() && self.rng.random_bool(0.5) {
            v.brochures
                .insert(*self.pick(brochures), self.rng.random_range(1..5));
        }
        if !partners.is_empty() && self.rng.random_bool(0.4) {
            v.referrals.insert(Referral {
                partner: *self.pick(partners),
                theme: *self.pick(Theme::ALL),
            });
        }
        v.follow_up = self.rng.random_bool(0.2);
        if self.rng.random_bool(0.7) {
            let a = *self.pick(NOTE_SENTENCES);
            let b = *self.pick(NOTE_SENTENCES);
            v.note = if self.rng.random_bool(0.5) {
                a.to_string()
            } else {
                format!("{a} {b}")
            };
        }
        v
    }

    /// A date in the `days` days up to and including `end`.
    pub fn date_before(&mut self, end: NaiveDate, days: u64) -> NaiveDate {
        end.checked_sub_days(Days::new(self.rng.random_range(0..days)))
            .unwrap_or(end)
    }

    /// The underlying random generator.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }
}
