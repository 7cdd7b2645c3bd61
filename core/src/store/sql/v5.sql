-- Schema version 5: the names of the devices that changes are shown by, and opening hours that
-- honour dated exceptions (a holiday closure, special hours
-- on a day). Weekly rows now say which office they belong to and whether they spilled over
-- midnight from the day before, so that a day an exception decides can set them aside. The read
-- model is rebuilt from the documents after this step (read model version 3).

DROP TABLE opening_hours;
CREATE TABLE opening_hours (
    partner INTEGER NOT NULL,
    location TEXT NOT NULL,
    day INTEGER NOT NULL,
    open_min INTEGER NOT NULL,
    close_min INTEGER NOT NULL,
    -- 1 when the range began the day before (an overnight range after midnight).
    spill INTEGER NOT NULL
);
CREATE INDEX opening_hours_by_day ON opening_hours(day, partner);
CREATE INDEX opening_hours_by_partner ON opening_hours(partner);

-- Every day (days from the common era) on which an exception decides an office's hours.
CREATE TABLE excepted_days (
    partner INTEGER NOT NULL,
    location TEXT NOT NULL,
    date INTEGER NOT NULL,
    PRIMARY KEY (partner, location, date)
) WITHOUT ROWID;

-- The hours of those days, split at midnight, each on the day it falls on.
CREATE TABLE dated_hours (
    partner INTEGER NOT NULL,
    date INTEGER NOT NULL,
    open_min INTEGER NOT NULL,
    close_min INTEGER NOT NULL
);
CREATE INDEX dated_hours_by_date ON dated_hours(date, partner);
CREATE INDEX dated_hours_by_partner ON dated_hours(partner);

-- The names of the devices this device may see, as the hub last sent them (the roster; its
-- version is the meta key `roster_version`): how histories and conflicts name their authors.
CREATE TABLE device_names (
    device TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    org TEXT NOT NULL,
    gone INTEGER NOT NULL
) WITHOUT ROWID;

-- The regions whose directory section has stewards, as the hub last sent them with the
-- roster: their organisations' names (one a line) and whether this device may edit the section.
-- A region without a row is edited by every coordinator.
CREATE TABLE region_stewards (
    region TEXT PRIMARY KEY,
    stewards TEXT NOT NULL,
    may_edit INTEGER NOT NULL
) WITHOUT ROWID;
