-- Schema version 4: the public contacts of partners, so that a note or a field may name a
-- partner's own phone number or e-mail address (the privacy guard allows those, and only those).

-- One row per canonical contact (`p:` + digits of a phone number in international form, `e:` +
-- a lower-cased e-mail address) of a partner in the read model.
CREATE TABLE partner_contacts (
    contact TEXT NOT NULL,
    partner INTEGER NOT NULL,
    PRIMARY KEY (contact, partner)
) WITHOUT ROWID;
CREATE INDEX partner_contacts_by_partner ON partner_contacts(partner);
