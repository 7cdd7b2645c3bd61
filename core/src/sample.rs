//! A small sample of the CONEX network for the demo, the tests and first runs: Fedasil's return
//! desks, CAW Limburg, IOM and Caritas International. Only organisational contact points found in
//! public material are used (general e-mail, websites, the free voluntary-return number), never
//! a person's name or number. Street addresses are left out on purpose and opening hours are
//! illustrative: check the organisations' own sites before relying on them.

use chrono::NaiveDate;

use crate::model::{
    Audience, Brochure, BrochureFile, Lang, Location, OrgKind, Partner, PartnerId, Phone, Region, Service,
    Theme,
};

fn lang(code: &str) -> Lang {
    Lang::code(code).unwrap_or_else(|| unreachable!("sample language codes are valid"))
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap_or_default()
}

/// The free voluntary-return information number published by Fedasil.
pub const RETURN_INFO_NUMBER: &str = "0800 327 45";

fn return_desk(id: u128, region: Region, city: &str, postcode: u16, lat: f64, lon: f64) -> Partner {
    let mut p = Partner::new(
        region,
        format!("Fedasil return desk {city}"),
        OrgKind::PublicAgency,
    );
    p.id = PartnerId::from_uuid(uuid::Uuid::from_u128(id));
    p.alternate_name = Some("Terugkeerloket / Guichet retour".into());
    p.description.insert(lang("nl"), "Terugkeerloket van Fedasil: informatie en begeleiding over vrijwillige terugkeer, zonder registratie binnenstappen.".into());
    p.description.insert(lang("fr"), "Guichet retour de Fedasil : information et accompagnement sur le retour volontaire, accès libre sans inscription.".into());
    p.description.insert(
        lang("en"),
        "Fedasil return desk: information and guidance on voluntary return; walk in, no registration needed."
            .into(),
    );
    p.themes.extend([
        Theme::VoluntaryReturn,
        Theme::Reintegration,
        Theme::Administrative,
    ]);
    p.languages.extend(["nl", "fr", "en", "ar"].map(lang));
    let mut s = Service::new("Voluntary return counselling");
    s.id = crate::model::ServiceId::from_uuid(uuid::Uuid::from_u128(id + 1));
    s.description.insert(
        lang("en"),
        "Return counsellors explain the programme; IOM and Caritas are present on some days.".into(),
    );
    s.themes.extend([Theme::VoluntaryReturn, Theme::Reintegration]);
    s.languages.extend(["nl", "fr", "en"].map(lang));
    s.fees = Some("free".into());
    s.how_to_apply = Some("Walk in during opening hours".into());
    p.services.insert(s.id, s);
    let mut l = Location::new(postcode, city);
    l.id = crate::model::LocationId::from_uuid(uuid::Uuid::from_u128(id + 2));
    l.latitude = Some(lat);
    l.longitude = Some(lon);
    l.hours = "mon-fri 09:00-12:00,13:00-16:00".parse().unwrap_or_default();
    l.accessibility = Some("No registration needed".into());
    p.locations.insert(l.id, l);
    p.phones.push(Phone {
        number: RETURN_INFO_NUMBER.into(),
        label: Some("free voluntary return information".into()),
    });
    p.email = Some("info@fedasil.be".into());
    p.website = Some("https://www.vrijwilligeterugkeer.be".into());
    p.verified_on = Some(day("2026-10-01"));
    p.verified_by = Some("CONEX coordination (sample)".into());
    p
}

/// The sample directory: eight partners in five regions.
pub fn conex_directory() -> Vec<Partner> {
    let mut partners = vec![
        return_desk(0x1000, Region::Brussels, "Brussel", 1000, 50.8467, 4.3525),
        return_desk(0x2000, Region::EastFlanders, "Gent", 9000, 51.0543, 3.7174),
        return_desk(0x3000, Region::Antwerp, "Antwerpen", 2000, 51.2194, 4.4025),
        return_desk(0x4000, Region::Liege, "Liège", 4000, 50.6326, 5.5797),
        return_desk(0x5000, Region::Hainaut, "Charleroi", 6000, 50.4108, 4.4446),
    ];

    let mut caw = Partner::new(Region::Limburg, "CAW Limburg", OrgKind::WelfareCentre);
    caw.id = PartnerId::from_uuid(uuid::Uuid::from_u128(0x6000));
    caw.alternate_name = Some("CONEX Limburg".into());
    caw.description.insert(lang("nl"), "CONEX-partner voor de provincie Limburg: informeert organisaties en migranten over vrijwillige terugkeer; de regiohuizen begeleiden terugkeer en re-integratie samen met IOM. De hulpverlening is gratis.".into());
    caw.description.insert(lang("en"), "CONEX partner for the province of Limburg: informs organisations and migrants about voluntary return; its regional offices organise return and reintegration with IOM. Free of charge.".into());
    caw.themes.extend([
        Theme::VoluntaryReturn,
        Theme::Reintegration,
        Theme::Psychosocial,
        Theme::SocialRights,
    ]);
    caw.languages.extend(["nl", "en", "fr"].map(lang));
    let mut tiw = Service::new("Team Integraal Welzijn");
    tiw.id = crate::model::ServiceId::from_uuid(uuid::Uuid::from_u128(0x6001));
    tiw.description.insert(
        lang("nl"),
        "Een maatschappelijk werker begeleidt mensen die een terugkeer overwegen tijdens het hele proces."
            .into(),
    );
    tiw.themes.extend([Theme::VoluntaryReturn, Theme::Psychosocial]);
    tiw.fees = Some("gratis".into());
    caw.services.insert(tiw.id, tiw);
    let mut l = Location::new(3500, "Hasselt");
    l.id = crate::model::LocationId::from_uuid(uuid::Uuid::from_u128(0x6002));
    l.latitude = Some(50.9307);
    l.longitude = Some(5.3325);
    l.hours = "mon-fri 09:00-12:30,13:30-17:00".parse().unwrap_or_default();
    caw.locations.insert(l.id, l);
    caw.website = Some("https://www.caw.be".into());
    caw.regions_served.insert(Region::Limburg);
    caw.verified_on = Some(day("2026-09-15"));
    caw.verified_by = Some("CONEX Limburg (sample)".into());
    partners.push(caw);

    let mut iom = Partner::new(
        Region::Brussels,
        "IOM Belgium and Luxembourg",
        OrgKind::InternationalOrganisation,
    );
    iom.id = PartnerId::from_uuid(uuid::Uuid::from_u128(0x7000));
    iom.alternate_name = Some("Internationale Organisatie voor Migratie".into());
    iom.description.insert(lang("en"), "Organises the journey and reintegration support in the country of origin, with local partners there.".into());
    iom.description.insert(lang("fr"), "Organise le voyage et l'aide à la réintégration dans le pays d'origine, avec des partenaires locaux.".into());
    iom.themes.extend([Theme::VoluntaryReturn, Theme::Reintegration]);
    iom.languages
        .extend(["en", "fr", "nl", "ar", "es", "ru"].map(lang));
    iom.regions_served.extend(Region::ALL.iter().copied());
    let mut l = Location::new(1000, "Brussel");
    l.id = crate::model::LocationId::from_uuid(uuid::Uuid::from_u128(0x7002));
    l.hours = "mon-fri 09:00-17:00".parse().unwrap_or_default();
    iom.locations.insert(l.id, l);
    iom.website = Some("https://belgium.iom.int".into());
    iom.verified_on = Some(day("2026-08-20"));
    iom.verified_by = Some("CONEX coordination (sample)".into());
    partners.push(iom);

    let mut caritas = Partner::new(Region::Brussels, "Caritas International", OrgKind::Ngo);
    caritas.id = PartnerId::from_uuid(uuid::Uuid::from_u128(0x8000));
    caritas.description.insert(lang("en"), "Information sessions for frontline staff, diasporas and migrants in precarious situations on social rights, residence procedures, voluntary return and reintegration.".into());
    caritas.description.insert(lang("fr"), "Séances d'information sur les droits sociaux, les procédures de séjour, le retour volontaire et la réintégration.".into());
    caritas.description.insert(
        lang("nl"),
        "Infosessies over sociale rechten, verblijfsprocedures, vrijwillige terugkeer en re-integratie."
            .into(),
    );
    caritas.themes.extend([
        Theme::SocialRights,
        Theme::ResidenceProcedures,
        Theme::VoluntaryReturn,
        Theme::Reintegration,
        Theme::Legal,
    ]);
    caritas.languages.extend(["fr", "nl", "en", "es", "ar"].map(lang));
    caritas.regions_served.extend(Region::ALL.iter().copied());
    let mut l = Location::new(1210, "Sint-Joost-ten-Node");
    l.id = crate::model::LocationId::from_uuid(uuid::Uuid::from_u128(0x8002));
    l.hours = "mon-thu 09:00-12:30,13:30-16:30".parse().unwrap_or_default();
    caritas.locations.insert(l.id, l);
    caritas.website = Some("https://www.caritasinternational.be".into());
    caritas.verified_on = Some(day("2026-07-01"));
    caritas.verified_by = Some("CONEX coordination (sample)".into());
    partners.push(caritas);
    partners
}

/// A one-page PDF used as the sample brochure's file.
pub fn sample_brochure_pdf() -> Vec<u8> {
    let body = "BT /F1 18 Tf 40 760 Td (Voluntary return - sample brochure) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{body}\nendstream", body.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        pdf.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// The sample brochure on voluntary return, with its French file.
pub fn voluntary_return_brochure() -> Brochure {
    use sha2::{Digest, Sha256};
    let mut b = Brochure::new(day("2026-09-01"));
    b.id = crate::model::BrochureId::from_uuid(uuid::Uuid::from_u128(0x9000));
    b.title.insert(lang("nl"), "Vrijwillige terugkeer".into());
    b.title.insert(lang("fr"), "Le retour volontaire".into());
    b.title.insert(lang("en"), "Voluntary return".into());
    b.title.insert(lang("ar"), "العودة الطوعية".into());
    b.summary.insert(
        lang("en"),
        "What the programme offers, who can use it and where to ask.".into(),
    );
    b.summary.insert(
        lang("fr"),
        "Ce que le programme propose, pour qui, et où s'adresser.".into(),
    );
    b.themes.extend([Theme::VoluntaryReturn, Theme::Reintegration]);
    b.audience.insert(Audience::FrontlineStaff);
    let pdf = sample_brochure_pdf();
    b.files.insert(
        lang("fr"),
        BrochureFile {
            sha256: hex::encode(Sha256::digest(&pdf)),
            size: pdf.len() as u64,
            media_type: "application/pdf".into(),
            file_name: "retour-volontaire.pdf".into(),
        },
    );
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_valid() {
        let partners = conex_directory();
        assert_eq!(partners.len(), 8);
        for p in &partners {
            p.validate().unwrap_or_else(|e| panic!("{}: {e}", p.name));
        }
        voluntary_return_brochure().validate().unwrap();
        assert!(sample_brochure_pdf().starts_with(b"%PDF-1.4"));
    }
}
