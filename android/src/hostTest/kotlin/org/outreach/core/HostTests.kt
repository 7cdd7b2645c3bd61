// The host tests: the generated Kotlin bindings (org.outreach.core) on the JVM, through JNA,
// against the real liboutreach_ffi.so and a real outreach-hub. Run by android/host-test.sh, which
// passes the hub's address, data directory and binary and a temporary directory.
package org.outreach.core

import org.outreach.core.model.*
import java.io.File
import java.time.Duration
import java.time.LocalDate
import java.time.LocalDateTime
import java.util.Collections
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.CyclicBarrier
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.system.exitProcess
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNotEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.test.fail
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout

fun main(args: Array<String>) {
    val harness = Harness()
    registerTests(harness)
    registerFlowTests(harness)
    registerMainSafetyTests(harness)
    val failed = harness.run(args.firstOrNull())
    exitProcess(if (failed == 0) 0 else 1)
}

// ---- Helpers of these tests ---------------------------------------------------------------------

/** Records every StoreChanges it is told. */
class RecordingObserver : StoreObserver {
    val changes = CopyOnWriteArrayList<StoreChanges>()
    val partners: List<String> get() = changes.flatMap { it.partners }
    val visits: List<String> get() = changes.flatMap { it.visits }

    override fun onChange(changes: StoreChanges) {
        this.changes += changes
    }
}

/** Records every SyncProgress it is told, and runs [onEach] on it. */
class RecordingProgress(private val onEach: (SyncProgress) -> Unit = {}) : SyncProgressListener {
    val seen = CopyOnWriteArrayList<SyncProgress>()
    val phases: List<SyncPhase> get() = seen.map { it.phase }

    override fun onProgress(progress: SyncProgress) {
        seen += progress
        onEach(progress)
    }
}

/** Waits up to [ms] for [condition]; observers are called synchronously, this only allows slack. */
suspend inline fun eventually(ms: Long = 2_000, what: String, condition: () -> Boolean) {
    val deadline = System.nanoTime() + ms * 1_000_000
    while (!condition()) {
        if (System.nanoTime() > deadline) fail("timed out waiting for $what")
        delay(10)
    }
}

/** A fresh store enrolled with the shared hub as [role]. */
suspend fun enrolled(name: String, role: String, config: StoreConfig = StoreConfig(languages = listOf("fr", "nl"))): TestStore {
    val t = TestStore(name, config)
    t.store.enroll(HubCli.enrollmentLink(role), "$name ($role)")
    return t
}

suspend fun allVisits(store: OutreachStore): List<Visit> = store.visits(VisitQuery(limit = 100_000))

/** The partners of the directory searches: four active offices and a closed one. */
class Directory(val t: TestStore) {
    val liege = partner(
        "Service d'aide juridique Liège", Region.LIEGE, OrgKind.LEGAL_SERVICE,
        themes = listOf(Theme.LEGAL), languages = listOf("ar", "fr"),
        locations = listOf(location(4000, "Liège", Region.LIEGE, 50.6326, 5.5797, weekdays(9 * 60, 17 * 60))),
    )
    val gent = partner(
        "CAW Oost-Vlaanderen", Region.EAST_FLANDERS, OrgKind.WELFARE_CENTRE,
        themes = listOf(Theme.PSYCHOSOCIAL, Theme.SOCIAL_RIGHTS), languages = listOf("fa", "nl"),
        locations = listOf(location(9000, "Gent", Region.EAST_FLANDERS, 51.0543, 3.7174, weekdays(13 * 60, 20 * 60))),
    )
    val brussels = partner(
        "Fedasil Retour Bruxelles", Region.BRUSSELS, OrgKind.PUBLIC_AGENCY,
        themes = listOf(Theme.VOLUNTARY_RETURN, Theme.REINTEGRATION), languages = listOf("ar", "fr", "nl", "ti"),
        locations = listOf(location(1000, "Bruxelles", Region.BRUSSELS, 50.8467, 4.3525, weekdays(8 * 60 + 30, 16 * 60 + 30))),
    )
    val antwerp = partner(
        "Nachtopvang Antwerpen", Region.ANTWERP, OrgKind.CITY_SERVICE,
        themes = listOf(Theme.SHELTER), languages = listOf("nl"),
        locations = listOf(
            location(
                2000, "Antwerpen", Region.ANTWERP, 51.2194, 4.4025,
                Weekday.values().map { DayHours(it, listOf(TimeRange((21 * 60), (8 * 60)))) },
            ),
        ),
    )
    val namurClosed = partner(
        "Ancienne permanence juridique Namur", Region.NAMUR, OrgKind.NGO,
        themes = listOf(Theme.LEGAL), languages = listOf("fr"),
        locations = listOf(location(5000, "Namur", Region.NAMUR, 50.4669, 4.8675, weekdays(9 * 60, 12 * 60))),
        status = PartnerStatus.INACTIVE,
    )
    val all = listOf(liege, gent, brussels, antwerp, namurClosed)
    val names = all.associate { it.id to it.name }

    init {
        runBlocking { for (p in all) assertEquals(p.id, t.store.addPartner(p)) }
    }

    suspend fun search(q: PartnerQuery): List<String> = t.store.searchPartners(q).map { names[it.id] ?: it.id }
}

fun names(vararg ps: Partner): List<String> = ps.map { it.name }

// ---- The tests -----------------------------------------------------------------------------------

fun registerTests(h: Harness) {
    h.test("open_encrypted_store_and_reopen") {
        val t = TestStore("reopen")
        val device = t.store.deviceId()
        val visitId = t.store.logVisit(visitDetails(people = 4))
        t.store.close()
        val header = File(t.path).inputStream().use { it.readNBytes(16) }
        assertFalse(String(header, Charsets.ISO_8859_1).startsWith("SQLite format 3"), "the database file is encrypted")
        t.open().use { again ->
            assertEquals(device, again.deviceId(), "the device id survives reopening")
            assertEquals(4, again.visit(visitId).details.peopleReached)
            assertEquals(listOf(visitId), allVisits(again).map { it.id })
            assertNull(again.enrollment(), "a new store is not enrolled")
        }
    }

    h.test("wrong_key_is_WrongKey_and_leaves_the_file_unchanged") {
        val t = TestStore("wrongkey")
        t.store.logVisit(visitDetails())
        t.store.close()
        val before = snapshot(t.dir)
        assertTrue(before.isNotEmpty())
        val e = expectThrows<OutreachException.WrongKey>("opening with another key") { t.open(key = randomKey()).close() }
        assertTrue(e.reason.isNotBlank())
        assertEquals(before, snapshot(t.dir), "a failed open changed the files")
        t.open().use { assertEquals(1, allVisits(it).size, "the right key still opens it") }
    }

    h.test("key_of_31_bytes_is_InvalidInput_key") {
        val t = TestStore("shortkey")
        t.store.close()
        val before = snapshot(t.dir)
        val e = expectThrows<OutreachException.InvalidInput> { t.open(key = randomKey(31)).close() }
        assertEquals("key", e.field)
        assertEquals(before, snapshot(t.dir), "a failed open changed the files")
        val fresh = File(t.dir, "never-created.db")
        val e2 = expectThrows<OutreachException.InvalidInput> { OutreachStore.open(fresh.path, randomKey(31), StoreConfig()).close() }
        assertEquals("key", e2.field)
        assertFalse(fresh.exists(), "a refused key created a database file")
        val e3 = expectThrows<OutreachException.InvalidInput> { OutreachStore.open(fresh.path, randomKey(33), StoreConfig()).close() }
        assertEquals("key", e3.field)
    }

    h.test("log_visits_and_list_them_with_counts") {
        val t = TestStore("visits")
        val s = t.store
        val d1 = visitDetails(date = today.minusDays(2), people = 3, themes = listOf(Theme.LEGAL))
        val d2 = visitDetails(date = today.minusDays(1), people = 5, themes = listOf(Theme.LEGAL, Theme.MEDICAL), activity = Activity.GROUP_SESSION)
        val d3 = visitDetails(date = today, people = 2, themes = listOf(Theme.MEDICAL), note = "Séance d'information sur le retour volontaire")
        val ids = listOf(d1, d2, d3).map { s.logVisit(it) }
        assertEquals(3, ids.toSet().size)
        val listed = allVisits(s)
        assertEquals(ids.reversed(), listed.map { it.id }, "visits are listed newest first")
        assertTrue(listed.all { it.deviceId == s.deviceId() })
        assertEquals(d2, s.visit(ids[1]).details, "a visit reads back as logged")
        assertEquals(d3.note, s.visit(ids[2]).details.note)
        assertEquals(listOf(ids[2]), s.visits(VisitQuery(from = today)).map { it.id })
        assertEquals(listOf(ids[1], ids[0]), s.visits(VisitQuery(to = today.minusDays(1))).map { it.id })
        assertEquals(listOf(ids[2]), s.visits(VisitQuery(limit = 1)).map { it.id })
        val counts = s.visitCounts()
        // Overall (theme null) and per theme, per month: add them up over the months.
        val overall = counts.filter { it.theme == null }
        assertEquals(3L, overall.sumOf { it.visits })
        assertEquals(10L, overall.sumOf { it.people })
        val legal = counts.filter { it.theme == Theme.LEGAL }
        assertEquals(2L, legal.sumOf { it.visits })
        assertEquals(8L, legal.sumOf { it.people })
        val medical = counts.filter { it.theme == Theme.MEDICAL }
        assertEquals(2L, medical.sumOf { it.visits })
        assertEquals(7L, medical.sumOf { it.people })
        val missing = expectThrows<OutreachException.NotFound> { s.visit(newId()) }
        assertTrue(missing.reason.isNotBlank())
    }

    h.test("amend_a_visit") {
        val t = TestStore("amend")
        val s = t.store
        val id = s.logVisit(visitDetails(people = 3, themes = listOf(Theme.LEGAL)))
        val observer = RecordingObserver()
        s.subscribe(observer).use {
            val amended = visitDetails(people = 7, themes = listOf(Theme.MEDICAL), note = "Deux familles en plus", setting = Setting.SHELTER)
            s.amendVisit(id, amended)
            assertEquals(amended, s.visit(id).details)
            assertEquals(listOf(id), allVisits(s).map { it.id }, "amending adds no visit")
            eventually(what = "the amendment's change") { id in observer.visits }
        }
        val counts = s.visitCounts()
        assertEquals(7L, counts.filter { it.theme == null }.sumOf { it.people })
        assertTrue(counts.none { it.theme == Theme.LEGAL && it.visits > 0 }, "the old theme is no longer counted: $counts")
        // A visit stays in its month; the amendment is checked like a new visit.
        val otherMonth = today.minusMonths(1)
        val e = expectThrows<OutreachException.InvalidInput> { s.amendVisit(id, visitDetails(date = otherMonth)) }
        assertEquals("date", e.field)
        expectThrows<OutreachException.PersonalData> { s.amendVisit(id, visitDetails(note = "mail to x.y@example.org")) }
        assertEquals(7, s.visit(id).details.peopleReached, "refused amendments change nothing")
    }

    h.test("note_with_phone_number_is_refused_with_its_utf16_span") {
        val t = TestStore("personal")
        val observer = RecordingObserver()
        t.store.subscribe(observer).use {
            // Non-ASCII before the number, so UTF-16 and UTF-8 offsets differ (the emoji is a
            // surrogate pair, é two bytes).
            val note = "Réfugié 🙂 très inquiet — call him on 0475 12 34 56 tomorrow"
            val e = expectThrows<OutreachException.PersonalData> { t.store.logVisit(visitDetails(note = note)) }
            assertEquals(1, e.spans.size, "spans: ${e.spans}")
            val span = e.spans.single()
            assertEquals(PersonalDataKind.PHONE_NUMBER, span.kind)
            assertEquals("0475 12 34 56", note.substring(span.startUtf16.toInt(), span.endUtf16.toInt()))
            val utf8 = note.toByteArray(Charsets.UTF_8)
            assertEquals("0475 12 34 56", String(utf8.copyOfRange(span.startUtf8.toInt(), span.endUtf8.toInt()), Charsets.UTF_8))
            assertNotEquals(span.startUtf8, span.startUtf16)
            assertTrue(e.reason.isNotBlank())
            assertEquals(listOf(), allVisits(t.store), "nothing is stored")
            assertEquals(listOf(), t.store.visitCounts().filter { it.visits > 0 })
            assertEquals(listOf(), observer.changes, "no change is announced")
        }
    }

    h.test("find_personal_data_agrees_with_log_visit") {
        val note = "Famille à Liège, mère: +32 475 12 34 56, écrire à aide.famille@example.org"
        val found = findPersonalData(note)
        val refused = expectThrows<OutreachException.PersonalData> { TestStore("find").store.logVisit(visitDetails(note = note)) }
        assertEquals(found, refused.spans)
        assertEquals(listOf(PersonalDataKind.PHONE_NUMBER, PersonalDataKind.EMAIL_ADDRESS), found.map { it.kind })
        assertEquals(
            listOf("+32 475 12 34 56", "aide.famille@example.org"),
            found.map { note.substring(it.startUtf16.toInt(), it.endUtf16.toInt()) },
        )
        assertEquals(listOf(), findPersonalData("Séance de groupe au centre, 12 personnes, brochures en arabe"))
        assertEquals(listOf(), findPersonalData(""))
    }

    h.test("invalid_input_names_the_field") {
        // Fields go by the names of the records' properties, as Kotlin spells them.
        val s = TestStore("invalid").store
        suspend fun invalid(block: suspend () -> Unit) = expectThrowsSuspend<OutreachException.InvalidInput>(block = block)
        suspend fun field(block: suspend () -> Unit) = invalid(block).field
        assertEquals("peopleReached", field { s.logVisit(visitDetails(people = 0)) })
        assertEquals("peopleReached", field { s.logVisit(visitDetails(people = 501)) })
        s.logVisit(visitDetails(people = 500))
        assertEquals("postcode", field { s.logVisit(visitDetails(postcode = 999)) })
        assertEquals("date", field { s.logVisit(visitDetails(date = today.plusDays(3))) })
        assertEquals("note", field { s.logVisit(visitDetails(note = "x".repeat(501))) })
        s.logVisit(visitDetails(note = "x".repeat(500)))
        assertEquals("municipality", field { s.logVisit(visitDetails(municipality = "")) })
        val byGender = invalid {
            s.logVisit(visitDetails(people = 2).copy(byGender = listOf(GenderCount(Gender.FEMALE, 2), GenderCount(Gender.MALE, 1))))
        }
        assertEquals("byGender", byGender.field)
        assertTrue(byGender.reason.contains("byGender counts add up to more than the 2 people reached"), byGender.reason)
        val byAge = invalid { s.logVisit(visitDetails(people = 3).copy(byAge = listOf(AgeCount(AgeBand.FROM36_TO50, 4)))) }
        assertEquals("byAge", byAge.field)
        assertTrue(byAge.reason.endsWith("byAge must be between 1 and 3"), byAge.reason)
        assertEquals("name", field { s.addPartner(partner("  ", Region.LIEGE)) })
        val office = location(999, "Liège", Region.LIEGE)
        assertEquals("locations.${office.id}.postcode", field { s.addPartner(partner("SAJ", Region.LIEGE, locations = listOf(office))) })
        val p = partner("SAJ", Region.LIEGE)
        s.addPartner(p)
        assertEquals("alternateName", field { s.editPartner(p.id, listOf(PartnerEdit.AlternateName("x".repeat(201)))) })
        assertEquals("workerNotes", field { s.editPartner(p.id, listOf(PartnerEdit.WorkerNotes("x".repeat(4001)))) })
        assertEquals("partnerId", field { s.partner("not-an-id") })
        assertEquals("languages", field { s.searchPartners(PartnerQuery(languages = listOf("not a language"))) })
        assertEquals("maxAttempts", field { OutreachStore.open(File(Env.tmp, "${newId()}.db").path, randomKey(), StoreConfig(maxAttempts = 0)) })
        // Signed at the boundary: a negative value is refused by its field, never wrapped around.
        val negative = invalid { s.logVisit(visitDetails(people = -3)) }
        assertEquals("peopleReached" to "peopleReached must not be negative", negative.field to negative.reason)
        assertEquals("postcode", field { s.logVisit(visitDetails(postcode = 70_000)) })
        assertEquals("byGender.count", field { s.logVisit(visitDetails(people = 2).copy(byGender = listOf(GenderCount(Gender.FEMALE, -1)))) })
        assertEquals("limit", field { s.visits(VisitQuery(limit = -1)) })
        assertEquals("retentionDays", field { OutreachStore.open(File(Env.tmp, "${newId()}.db").path, randomKey(), StoreConfig(retentionDays = -1)) })
        assertEquals(2, allVisits(s).size, "only the valid visits were stored")
    }

    h.test("search_by_text_accents_and_prefixes") {
        val d = Directory(TestStore("search-text"))
        assertEquals(names(d.liege), d.search(PartnerQuery(text = "juridique")))
        assertEquals(names(d.liege), d.search(PartnerQuery(text = "LIEGE jurid")))
        assertEquals(names(d.antwerp), d.search(PartnerQuery(text = "nachtopv")))
        assertEquals(listOf(), d.search(PartnerQuery(text = "namur")), "closed partners are hidden")
        assertEquals(listOf(), d.search(PartnerQuery(text = "zzzz")))
        assertEquals(5L, d.t.store.partnerCount())
    }

    h.test("search_by_theme_language_region_and_place") {
        val d = Directory(TestStore("search-filters"))
        assertEquals(names(d.liege), d.search(PartnerQuery(themes = listOf(Theme.LEGAL), languages = listOf("ar"))))
        assertEquals(listOf(), d.search(PartnerQuery(themes = listOf(Theme.LEGAL), languages = listOf("nl"))))
        assertEquals(
            names(d.brussels, d.antwerp).sorted(),
            d.search(PartnerQuery(themes = listOf(Theme.VOLUNTARY_RETURN, Theme.SHELTER))).sorted(),
            "one listed theme is enough",
        )
        assertEquals(names(d.brussels, d.gent).sorted(), d.search(PartnerQuery(languages = listOf("ti", "fa"))).sorted())
        assertEquals(names(d.gent), d.search(PartnerQuery(region = Region.EAST_FLANDERS)))
        assertEquals(names(d.gent), d.search(PartnerQuery(place = "Gent")))
        assertEquals(names(d.gent), d.search(PartnerQuery(place = "9000")))
        assertEquals(names(d.brussels), d.search(PartnerQuery(place = "bruxelles")))
        assertEquals(names(d.liege), d.search(PartnerQuery(place = "Liège", themes = listOf(Theme.LEGAL))))
        assertEquals(listOf(), d.search(PartnerQuery(place = "Gent", themes = listOf(Theme.LEGAL))))
        assertEquals(2, d.t.store.searchPartners(PartnerQuery(limit = 2)).size)
        val summary = d.t.store.searchPartners(PartnerQuery(place = "9000")).single()
        assertEquals(d.gent.id, summary.id)
        assertEquals(Region.EAST_FLANDERS, summary.region)
        assertEquals(OrgKind.WELFARE_CENTRE, summary.kind)
        assertEquals(listOf("Gent"), summary.municipalities)
        assertEquals(listOf("fa", "nl"), summary.languages.sorted())
        assertNull(summary.distanceKm)
    }

    h.test("search_open_at") {
        val d = Directory(TestStore("search-open"))
        val wednesday = LocalDate.of(2025, 1, 8)
        assertEquals(java.time.DayOfWeek.WEDNESDAY, wednesday.dayOfWeek)
        suspend fun openAt(date: LocalDate, h: Int, m: Int = 0) = d.search(PartnerQuery(openAt = LocalDateTime.of(date, java.time.LocalTime.of(h, m)))).sorted()
        assertEquals(names(d.brussels, d.liege).sorted(), openAt(wednesday, 10))
        assertEquals(names(d.gent), openAt(wednesday, 18))
        assertEquals(names(d.antwerp), openAt(wednesday, 23, 30))
        val sunday = wednesday.plusDays(4)
        assertEquals(names(d.antwerp), openAt(sunday, 3))
        assertEquals(listOf(), openAt(sunday, 10))
        assertEquals(listOf(), openAt(wednesday.plusDays(3), 12), "nothing but the night shelter opens on Saturdays, and not at noon")
        // Seconds and nanoseconds reach the core too (LocalDateTime.toString() drops zero seconds).
        assertEquals(
            names(d.gent),
            d.search(PartnerQuery(openAt = LocalDateTime.of(2025, 1, 8, 17, 59, 59, 500_000_000))),
        )
        assertEquals(listOf(), d.search(PartnerQuery(openAt = LocalDateTime.of(2025, 1, 8, 11, 0), text = "namur", includeClosed = true)))
    }

    h.test("search_near_orders_by_distance") {
        val d = Directory(TestStore("search-near"))
        val found = d.t.store.searchPartners(PartnerQuery(near = GeoPoint(50.8503, 4.3517)))
        assertEquals(names(d.brussels, d.antwerp, d.gent, d.liege), found.map { d.names[it.id] })
        val distances = found.map { assertNotNull(it.distanceKm, "distance of ${it.name}") }
        assertEquals(distances.sorted(), distances)
        assertTrue(distances[0] < 1.0, "Fedasil Bruxelles is ${distances[0]} km away")
        assertTrue(distances[1] in 35.0..50.0, "Antwerpen is ${distances[1]} km away")
        assertTrue(distances[3] in 80.0..100.0, "Liège is ${distances[3]} km away")
        val nearLiege = d.t.store.searchPartners(PartnerQuery(near = GeoPoint(50.64, 5.57), themes = listOf(Theme.LEGAL), includeClosed = true))
        assertEquals(names(d.liege, d.namurClosed), nearLiege.map { d.names[it.id] })
    }

    h.test("search_include_closed_lists_inactive_partners") {
        val d = Directory(TestStore("search-closed"))
        assertEquals(listOf(), d.search(PartnerQuery(region = Region.NAMUR)))
        val found = d.t.store.searchPartners(PartnerQuery(region = Region.NAMUR, includeClosed = true))
        assertEquals(listOf(d.namurClosed.id), found.map { it.id })
        assertEquals(PartnerStatus.INACTIVE, found.single().status)
        assertEquals(5, d.t.store.searchPartners(PartnerQuery(includeClosed = true)).size)
        assertEquals(4, d.t.store.searchPartners(PartnerQuery()).size)
        // Closing a partner hides it; reopening it shows it again.
        d.t.store.setPartnerStatus(d.gent.id, PartnerStatus.DEFUNCT)
        assertEquals(listOf(), d.search(PartnerQuery(place = "Gent")))
        assertEquals(PartnerStatus.DEFUNCT, d.t.store.partner(d.gent.id).status)
        assertEquals(listOf(d.gent.id), d.t.store.searchPartners(PartnerQuery(place = "Gent", includeClosed = true)).map { it.id })
        d.t.store.setPartnerStatus(d.gent.id, PartnerStatus.ACTIVE)
        assertEquals(names(d.gent), d.search(PartnerQuery(place = "Gent")))
    }

    h.test("partner_detail_round_trip") {
        val s = TestStore("partner").store
        val p = Partner(
            id = newId(),
            region = Region.LIEGE,
            name = "Service d'aide juridique de Liège",
            alternateName = "SAJ Liège",
            description = mapOf("fr" to "Conseil juridique gratuit pour les personnes migrantes", "nl" to "Gratis juridisch advies"),
            kind = OrgKind.LEGAL_SERVICE,
            status = PartnerStatus.ACTIVE,
            themes = listOf(Theme.LEGAL, Theme.RESIDENCE_PROCEDURES),
            languages = listOf("ar", "fr", "ti"),
            regionsServed = listOf(Region.LIEGE, Region.NAMUR),
            services = listOf(
                Service(
                    id = newId(),
                    name = "Permanence juridique",
                    description = mapOf("fr" to "Sans rendez-vous"),
                    themes = listOf(Theme.LEGAL),
                    languages = listOf("ar", "fr"),
                    eligibility = "Toute personne migrante",
                    fees = "Gratuit",
                    howToApply = "Se présenter à l'accueil",
                    schedule = listOf(
                        DayHours(Weekday.TUE, listOf(TimeRange(540, 720), TimeRange(780, 960))),
                        DayHours(Weekday.THU, listOf(TimeRange(540, 720))),
                    ),
                    status = PartnerStatus.ACTIVE,
                ),
            ),
            locations = listOf(
                Location(
                    id = newId(),
                    name = "Bureau principal",
                    street = "Rue de la Régence 12",
                    postcode = 4000,
                    municipality = "Liège",
                    province = Region.LIEGE,
                    latitude = 50.6402,
                    longitude = 5.5736,
                    hours = weekdays(540, 1020),
                    exceptions = listOf(HoursException(LocalDate.of(2026, 12, 24), LocalDate.of(2027, 1, 1))),
                    accessibility = "Rez-de-chaussée, accès en fauteuil roulant",
                    status = PartnerStatus.ACTIVE,
                ),
            ),
            phones = listOf(Phone("+32 4 223 45 67", "accueil")),
            email = "info@saj-liege.example.org",
            website = "https://saj-liege.example.org",
            verifiedOn = LocalDate.of(2025, 1, 6),
            verifiedBy = "Coordination Liège",
            workerNotes = "Demander la permanence du mardi",
        )
        assertEquals(p.id, s.addPartner(p))
        assertEquals(p, s.partner(p.id))
        assertEquals(1L, s.partnerCount())
        expectThrows<OutreachException.NotFound> { s.partner(newId()) }
        expectThrows<OutreachException.InvalidInput>("adding the same id twice") { s.addPartner(p) }
        s.markVerified(p.id, LocalDate.of(2025, 2, 3), "Coordination Namur")
        val verified = s.partner(p.id)
        assertEquals(LocalDate.of(2025, 2, 3), verified.verifiedOn)
        assertEquals("Coordination Namur", verified.verifiedBy)
        assertEquals(listOf(), s.partnerConflicts(p.id))
        assertEquals(listOf(), s.partnersWithConflicts())
    }

    h.test("stale_list_oldest_first_and_bulk_verify") {
        val s = TestStore("stale").store
        val old = partner("CAW Limburg", Region.LIMBURG).copy(verifiedOn = LocalDate.of(2024, 3, 1), verifiedBy = "coordinator")
        val never = partner("Caritas Bruxelles", Region.BRUSSELS)
        val fresh = partner("Fedasil Liège", Region.LIEGE).copy(verifiedOn = LocalDate.of(2026, 11, 20), verifiedBy = "coordinator")
        listOf(old, never, fresh).forEach { s.addPartner(it) }
        val cutoff = LocalDate.of(2026, 6, 1)
        assertEquals(listOf(never.id, old.id), s.stalePartners(cutoff).map { it.id }, "never verified first, then the oldest")
        expectThrows<OutreachException.NotFound> { s.markAllVerified(listOf(old.id, newId()), LocalDate.of(2026, 12, 1), "coordinator") }
        assertEquals(LocalDate.of(2024, 3, 1), s.partner(old.id).verifiedOn, "nothing recorded")
        s.markAllVerified(listOf(old.id, never.id), LocalDate.of(2026, 12, 1), "Coordination")
        assertEquals(listOf(), s.stalePartners(cutoff))
        assertEquals("Coordination", s.partner(never.id).verifiedBy)
        // Offices and services are checked on their own: listed, then verified in bulk.
        val office = location(3500, "Hasselt", Region.LIMBURG)
        val withOffice = partner("CAW Hasselt", Region.LIMBURG, locations = listOf(office))
            .copy(verifiedOn = LocalDate.of(2026, 11, 30), verifiedBy = "coordinator")
        s.addPartner(withOffice)
        val stale = s.staleEntries(cutoff)
        assertEquals(listOf(Entry.Location(office.id)), stale.map { it.entry }, "the office was never verified")
        assertEquals("3500 Hasselt", stale.single().label)
        assertNull(stale.single().verifiedDaysAgo)
        s.markEntriesVerified(listOf(EntryRef(withOffice.id, Entry.Location(office.id))), LocalDate.of(2026, 12, 1), "Coordination")
        assertEquals(listOf(), s.staleEntries(cutoff))
        assertEquals("Coordination", s.partner(withOffice.id).locations.single().verifiedBy)
        expectThrows<OutreachException.NotFound> {
            s.markEntriesVerified(listOf(EntryRef(withOffice.id, Entry.Service(newId()))), LocalDate.of(2026, 12, 1), "x")
        }
        // Search results carry the age of their information.
        val found = s.searchPartners(PartnerQuery(text = "hasselt")).single()
        assertEquals(withOffice.id, found.id)
        assertNotNull(found.verifiedDaysAgo)
    }

    h.test("observer_sees_an_edit_and_stops_after_cancel") {
        val s = TestStore("observer").store
        val p = partner("CAW Limburg", Region.LIMBURG, OrgKind.WELFARE_CENTRE)
        s.addPartner(p)
        val observer = RecordingObserver()
        val subscription = s.subscribe(observer)
        assertTrue(subscription.isActive())
        s.editPartner(p.id, listOf(PartnerEdit.Name("CAW Limburg Hasselt"), PartnerEdit.AddTheme(Theme.PSYCHOSOCIAL)))
        eventually(what = "the edit's change") { p.id in observer.partners }
        assertEquals(listOf(p.id), observer.changes.single().partners)
        assertEquals(listOf(), observer.changes.single().visits)
        val visitId = s.logVisit(visitDetails())
        eventually(what = "the visit's change") { visitId in observer.visits }
        subscription.cancel()
        assertFalse(subscription.isActive())
        subscription.cancel()
        val calls = observer.changes.size
        s.editPartner(p.id, listOf(PartnerEdit.Name("CAW Limburg")))
        s.logVisit(visitDetails())
        Thread.sleep(200)
        assertEquals(calls, observer.changes.size, "the observer was called after cancel()")
        assertEquals("CAW Limburg", s.partner(p.id).name)
        subscription.close()
    }

    h.test("subscription_closed_by_use_stops_the_calls") {
        val s = TestStore("use").store
        val observer = RecordingObserver()
        val kept = RecordingObserver()
        val keptSubscription = s.subscribe(kept)
        lateinit var inside: StoreSubscription
        s.subscribe(observer).use { subscription ->
            inside = subscription
            s.logVisit(visitDetails())
            eventually(what = "the visit's change") { observer.visits.size == 1 }
        }
        // A closed handle is gone: UniFFI refuses further calls on it.
        expectThrows<IllegalStateException>("isActive() on a closed subscription") { inside.isActive() }
        s.logVisit(visitDetails())
        s.logVisit(visitDetails())
        eventually(what = "the other observer") { kept.visits.size == 3 }
        Thread.sleep(100)
        assertEquals(1, observer.visits.size, "the observer was called after close()")
        assertTrue(keptSubscription.isActive())
        keptSubscription.close()
    }

    h.test("log_sink_gets_sync_and_callback_lines_without_content") {
        val lines = CopyOnWriteArrayList<Triple<LogLevel, String, String>>()
        setLogSink(
            object : LogSink {
                override fun log(level: LogLevel, target: String, message: String) {
                    lines += Triple(level, target, message)
                }
            },
            LogLevel.DEBUG,
        )
        val t = TestStore("log-sink", StoreConfig(languages = listOf("fr")))
        val link = HubCli.enrollmentLink("fieldworker")
        val code = link.substringAfter("code=").substringBefore('&')
        t.store.enroll(link, "log phone")
        val note = "Orientation vers le CPAS, suivi logement urgent"
        val sub = t.store.subscribe(
            object : StoreObserver {
                override fun onChange(changes: StoreChanges) = throw CallbackException.Failed("observer down")
            },
        )
        t.store.logVisit(visitDetails(people = 3, note = note))
        sub.close()
        val report = t.store.sync()
        assertTrue(report.complete, "$report")
        val sync = lines.filter { it.second == "outreach::sync" }
        assertTrue(sync.any { it.first == LogLevel.INFO && it.third == "sync started" }, "lines: $sync")
        val finished = sync.firstOrNull { it.first == LogLevel.INFO && it.third.startsWith("sync finished") }
        assertNotNull(finished, "lines: $sync")
        val ffi = lines.filter { it.second == "outreach::ffi" }
        assertTrue("documents_resent=0" in finished.third && "complete=true" in finished.third, finished.third)
        assertTrue(
            ffi.any { it.first == LogLevel.WARN && it.third.startsWith("a store observer failed") && "observer down" in it.third },
            "lines: $ffi",
        )
        for ((_, target, message) in lines) {
            assertFalse(note in message || "CPAS" in message, "a note in the log: $target $message")
            assertFalse(code.isNotEmpty() && code in message, "the enrollment code in the log: $target $message")
        }
        // Less detail from now on: only warnings and errors.
        setLogSink(
            object : LogSink {
                override fun log(level: LogLevel, target: String, message: String) {
                    lines += Triple(level, target, message)
                }
            },
            LogLevel.WARN,
        )
        lines.clear()
        t.store.sync()
        assertTrue(lines.none { it.first == LogLevel.INFO || it.first == LogLevel.DEBUG }, "lines: $lines")
    }

    h.test("throwing_observer_does_not_break_the_store") {
        val s = TestStore("throwing").store
        val thrown = AtomicInteger()
        val runtimeThrower = object : StoreObserver {
            override fun onChange(changes: StoreChanges) {
                thrown.incrementAndGet()
                throw IllegalStateException("the app's observer is broken")
            }
        }
        val callbackThrower = object : StoreObserver {
            override fun onChange(changes: StoreChanges) {
                thrown.incrementAndGet()
                throw CallbackException.Failed("declared failure")
            }
        }
        val good = RecordingObserver()
        val subs = listOf(s.subscribe(runtimeThrower), s.subscribe(callbackThrower), s.subscribe(good))
        val first = s.logVisit(visitDetails(people = 2))
        val second = s.logVisit(visitDetails(people = 6))
        val p = partner("Croix-Rouge Namur", Region.NAMUR)
        s.addPartner(p)
        eventually(what = "the good observer") { good.changes.size == 3 }
        assertEquals(6, thrown.get(), "both throwing observers were called each time")
        assertEquals(setOf(first, second), allVisits(s).map { it.id }.toSet())
        assertEquals(p.name, s.partner(p.id).name)
        assertEquals(listOf(p.id), good.partners)
        subs.forEach { it.close() }
    }

    h.test("field_history_after_two_edits") {
        val s = TestStore("history").store
        val p = partner("Caritas Bruxelles", Region.BRUSSELS)
        s.addPartner(p)
        s.editPartner(p.id, listOf(PartnerEdit.Name("Caritas International Bruxelles")))
        Thread.sleep(5)
        s.editPartner(p.id, listOf(PartnerEdit.Name("Caritas International")))
        val history = s.partnerHistory(p.id, "name")
        val values = history.map { it.value }
        assertTrue(history.size >= 3, "history: $history")
        assertTrue(values.last()!!.contains("Caritas International") && !values.last()!!.contains("Bruxelles"), "last: $values")
        val firstEdit = values.indexOfFirst { it != null && it.contains("Caritas International Bruxelles") }
        val original = values.indexOfFirst { it != null && it.contains("Caritas Bruxelles") }
        assertTrue(original in 0 until firstEdit, "oldest first: $values")
        assertTrue(history.all { it.author == s.deviceId() }, "authors: ${history.map { it.author }}")
        assertEquals(history.map { it.time }.sorted(), history.map { it.time })
        assertEquals("Caritas International", s.partner(p.id).name)
        expectThrows<OutreachException> { s.partnerHistory(newId(), "name") }
        // Fields go by the names the apps use; the document's own keys are not among them.
        s.editPartner(p.id, listOf(PartnerEdit.WorkerNotes("Ring twice")))
        assertEquals(listOf("notes"), s.partnerHistory(p.id, "notes").map { it.key }.distinct())
        val unknown = expectThrows<OutreachException.InvalidInput> { s.partnerHistory(p.id, "worker_notes") }
        assertEquals("field", unknown.field)
        assertTrue(unknown.reason.contains("notes, verified-on"), "lists the valid names: ${unknown.reason}")
        // The whole history of the partner, newest first, every field by its name.
        val all = s.partnerChanges(p.id)
        assertEquals("notes", all.first().field)
        assertEquals("Ring twice", all.first().value)
        assertEquals(all.map { it.time }.sortedDescending(), all.map { it.time })
        assertTrue(all.any { it.field == "name" && it.value == "Caritas International" }, "fields: ${all.map { it.field }}")
        assertTrue(all.none { it.field.contains('_') || it.settlesConflict }, "fields: ${all.map { it.field }}")
    }

    h.test("location_hours_edited_with_a_holiday_closure_and_a_conflict") {
        val s = TestStore("office-hours").store
        val office = location(3500, "Hasselt", Region.LIMBURG, hours = weekdays(9 * 60, 17 * 60))
        val p = partner("CAW Limburg", Region.LIMBURG, OrgKind.WELFARE_CENTRE, locations = listOf(office))
        s.addPartner(p)
        suspend fun openAt(at: String) = s.searchPartners(PartnerQuery(openAt = LocalDateTime.parse(at))).any { it.id == p.id }
        // 2026-12-23 is a Wednesday.
        assertTrue(openAt("2026-12-23T10:00"))
        s.editPartner(p.id, listOf(
            PartnerEdit.Location(office.id, LocationEdit.Hours(listOf(DayHours(Weekday.WED, listOf(TimeRange(780, 960)))))),
            PartnerEdit.Location(office.id, LocationEdit.PutException(HoursException(LocalDate.of(2026, 12, 24), LocalDate.of(2027, 1, 1)))),
            PartnerEdit.Location(office.id, LocationEdit.PutException(
                HoursException(LocalDate.of(2026, 12, 31), LocalDate.of(2026, 12, 31), listOf(TimeRange(600, 720))),
            )),
            PartnerEdit.Location(office.id, LocationEdit.Street("Kerkstraat 1")),
        ))
        assertFalse(openAt("2026-12-23T10:00"), "the new hours: afternoons only")
        assertTrue(openAt("2026-12-23T14:00"))
        assertFalse(openAt("2026-12-30T14:00"), "closed for the holidays")
        assertTrue(openAt("2026-12-31T11:00"), "special hours inside the closure")
        val read = s.partner(p.id).locations.single()
        assertEquals("Kerkstraat 1", read.street)
        assertEquals(listOf(LocalDate.of(2026, 12, 24), LocalDate.of(2026, 12, 31)), read.exceptions.map { it.from })
        assertEquals(listOf(DayHours(Weekday.WED, listOf(TimeRange(780, 960)))), read.hours)
        // The field's history goes by the app's name for it.
        val history = s.partnerHistory(p.id, "locations.${office.id}.hours")
        assertEquals(2, history.size, "set at creation, then edited: $history")
        // Bad input is refused naming the field, and changes nothing.
        val bad = expectThrows<OutreachException.InvalidInput> {
            s.editPartner(p.id, listOf(PartnerEdit.Location(office.id, LocationEdit.PutException(
                HoursException(LocalDate.of(2027, 1, 5), LocalDate.of(2027, 1, 1)),
            ))))
        }
        assertTrue(bad.field.contains("exceptions"), "field: ${bad.field}")
        expectThrows<OutreachException.NotFound> {
            s.editPartner(p.id, listOf(PartnerEdit.Location(newId(), LocationEdit.Street("x"))))
        }
        assertEquals(read, s.partner(p.id).locations.single())
        // Closed: never open, still in the entry.
        s.editPartner(p.id, listOf(PartnerEdit.Location(office.id, LocationEdit.Status(PartnerStatus.DEFUNCT))))
        assertFalse(openAt("2026-12-23T14:00"))
        assertEquals(PartnerStatus.DEFUNCT, s.partner(p.id).locations.single().status)
    }

    h.test("brochure_created_published_in_two_languages_replaced_and_retired") {
        val s = TestStore("catalog", StoreConfig(languages = listOf("nl", "fr"))).store
        val b = Brochure(
            id = newId(),
            title = mapOf("fr" to "Aide médicale urgente", "nl" to "Dringende medische hulp"),
            summary = mapOf("fr" to "Vos droits aux soins", "nl" to "Uw recht op zorg"),
            themes = listOf(Theme.MEDICAL),
            audience = listOf(Audience.MIGRANTS, Audience.FRONTLINE_STAFF),
            publishedOn = LocalDate.of(2026, 11, 2),
            updatedOn = LocalDate.of(2026, 11, 2),
        )
        s.putBrochure(b)
        val fr = fakePdf("AMU fr")
        val nl = fakePdf("DMH nl")
        s.publishBrochureFile(b.id, "fr", fr, "application/pdf", "amu.pdf")
        s.publishBrochureFile(b.id, "nl", nl, "application/pdf", "dmh.pdf")
        val view = s.brochures(listOf("nl")).single { it.id == b.id }
        assertEquals("Dringende medische hulp", view.title)
        assertEquals("Uw recht op zorg", view.summary)
        assertEquals(sha256(nl), view.file?.sha256)
        assertEquals(sha256(fr), s.brochureFile(b.id, listOf("fr"))?.sha256)
        // A new edition: a new file and a higher version.
        val nl2 = fakePdf("DMH nl, tweede uitgave")
        s.putBrochure(s.brochure(b.id).copy(version = 2, updatedOn = LocalDate.of(2026, 12, 1)))
        s.publishBrochureFile(b.id, "nl", nl2, "application/pdf", "dmh-2.pdf")
        val record = s.brochure(b.id)
        assertEquals(2, record.version)
        assertEquals(sha256(nl2), record.files.single { it.lang == "nl" }.sha256)
        assertEquals(sha256(nl2), s.brochureFile(b.id, listOf("nl"))?.sha256)
        // Retired: out of the list, kept in the catalog.
        s.putBrochure(record.copy(retired = true))
        assertTrue(s.brochures(listOf("nl")).none { it.id == b.id })
        assertTrue(s.brochure(b.id).retired)
    }

    h.test("enroll_and_sync_twice_with_progress") {
        val t = TestStore("sync", StoreConfig(languages = listOf("fr")))
        val s = t.store
        val link = HubCli.enrollmentLink("fieldworker")
        assertTrue(link.startsWith("outreach://enroll?"), link)
        val e = s.enroll(link, "Pixel de Fatima")
        assertEquals(Env.org, e.orgName)
        assertEquals(Role.FIELDWORKER, e.role)
        assertEquals("Pixel de Fatima", e.deviceName)
        assertTrue(e.hubUrl.trimEnd('/') == Env.hubUrl.trimEnd('/'), "hub url ${e.hubUrl}")
        assertEquals(e, s.enrollment())
        assertTrue(HubCli.devices().contains(s.deviceId()), "the hub lists the device")
        val usedAgain = expectThrowsSuspend<OutreachException>("a used code") {
            TestStore("sync-reuse").store.enroll(link, "another phone")
        }
        assertTrue(usedAgain is OutreachException.InvalidInput || usedAgain is OutreachException.Unauthorized, "$usedAgain")

        s.logVisit(visitDetails(people = 4))
        val progress = RecordingProgress()
        val first = s.sync(progress)
        assertTrue(first.complete, "first: $first")
        assertTrue(first.roundTrips >= 1, "first: $first")
        assertTrue(first.documentsPushed >= 1 && first.changesPushed >= 1L, "the first visit goes up: $first")
        assertTrue(first.bytesUp > 0L && first.bytesDown > 0L, "first: $first")
        assertTrue(first.duration > Duration.ZERO && first.duration < Duration.ofSeconds(30), "first: $first")
        assertEquals(SyncPhase.CONNECTING, progress.phases.first(), "phases: ${progress.phases}")
        assertEquals(SyncPhase.DONE, progress.phases.last(), "phases: ${progress.phases}")
        assertTrue(SyncPhase.UPLOADING in progress.phases, "phases: ${progress.phases}")
        assertEquals(1, progress.phases.count { it == SyncPhase.DONE })

        assertEquals(0, first.documentsResent, "the hub had nothing to ask for whole: $first")

        // Nothing new: the second sync of the same state pushes nothing.
        val idle = s.sync()
        assertTrue(idle.complete)
        assertEquals(0L, idle.changesPushed, "idle: $idle")
        assertEquals(0, idle.documentsResent, "idle: $idle")

        val visitId = s.logVisit(visitDetails(people = 2, themes = listOf(Theme.MEDICAL)))
        val progress2 = RecordingProgress()
        val second = s.sync(progress2)
        assertTrue(second.complete, "second: $second")
        assertTrue(second.roundTrips >= 1)
        assertTrue(second.documentsPushed >= 1 && second.changesPushed >= 1L, "the new visit goes up: $second")
        assertEquals(SyncPhase.DONE, progress2.phases.last())
        assertEquals(2, allVisits(s).size)
        assertEquals(2, s.visit(visitId).details.peopleReached)
        // A closed month's visits are in the hub's report (an open month is never published).
        val lastMonth = today.withDayOfMonth(1).minusDays(1)
        s.logVisit(visitDetails(date = lastMonth, people = 6))
        assertTrue(s.sync().documentsPushed >= 1)
        val report = HubCli.run("report", "--data", Env.hubData, "--period", lastMonth.toString().substring(0, 7))
        assertTrue(report.contains(Env.org), "the hub's report names the org: $report")
    }

    h.test("second_device_receives_a_coordinators_partner") {
        val coordinator = enrolled("coord", "coordinator")
        val fieldworker = enrolled("field", "fieldworker")
        val p = partner(
            "Convivial Bruxelles", Region.BRUSSELS, themes = listOf(Theme.EMPLOYMENT), languages = listOf("fr", "ti"),
            locations = listOf(location(1070, "Anderlecht", Region.BRUSSELS, 50.8333, 4.3, weekdays(540, 1020))),
        )
        coordinator.store.addPartner(p)
        val up = coordinator.store.sync()
        assertTrue(up.documentsPushed >= 1, "up: $up")
        val down = fieldworker.store.sync()
        assertTrue(down.documentsPulled >= 1 && down.changesPulled >= 1L, "down: $down")
        assertEquals(p, fieldworker.store.partner(p.id))
        assertEquals(listOf(p.id), fieldworker.store.searchPartners(PartnerQuery(text = "convivial")).map { it.id })

        // A later edit reaches the other device at its next sync, and its observer hears of it.
        coordinator.store.editPartner(p.id, listOf(PartnerEdit.Name("Convivial"), PartnerEdit.AddLanguage("ar")))
        coordinator.store.sync()
        val observer = RecordingObserver()
        fieldworker.store.subscribe(observer).use {
            fieldworker.store.sync()
            eventually(what = "the synced edit's change") { p.id in observer.partners }
        }
        val received = fieldworker.store.partner(p.id)
        assertEquals("Convivial", received.name)
        assertEquals(listOf("ar", "fr", "ti"), received.languages.sorted())
        val history = fieldworker.store.partnerHistory(p.id, "name")
        assertTrue(history.isNotEmpty() && history.all { it.author == coordinator.store.deviceId() }, "$history")
        // Authors are named by their device, role and organisation, as the hub gave them.
        val by = assertNotNull(history.last().by, "the author's name: $history")
        assertEquals(DeviceName(coordinator.store.deviceId(), "coord (coordinator)", Role.COORDINATOR, Env.org, false), by)
        val known = fieldworker.store.deviceNames().map { it.device }
        assertTrue(coordinator.store.deviceId() in known && fieldworker.store.deviceId() in known, "$known")
        assertTrue(fieldworker.store.partnerChanges(p.id).all { it.by?.org == Env.org }, "every change named")
    }

    h.test("visit_logs_stay_on_the_device_that_logged_them") {
        val fieldworker = enrolled("vlog-field", "fieldworker")
        val coordinator = enrolled("vlog-coord", "coordinator")
        coordinator.store.sync()
        val visitId = fieldworker.store.logVisit(visitDetails(people = 12, activity = Activity.GROUP_SESSION))
        assertTrue(fieldworker.store.sync().documentsPushed >= 1)
        // A coordinator's phone receives no colleague's raw visit log: the figures of its
        // organisation reach it as published reports.
        val down = coordinator.store.sync()
        assertEquals(0, down.documentsPulled, "down: $down")
        expectThrowsSuspend<OutreachException.NotFound> { coordinator.store.visit(visitId) }
        // Nor does a fieldworker receive the coordinator's own.
        val own = coordinator.store.logVisit(visitDetails())
        assertTrue(coordinator.store.sync().documentsPushed >= 1)
        assertEquals(0, fieldworker.store.sync().documentsPulled)
        expectThrowsSuspend<OutreachException.NotFound> { fieldworker.store.visit(own) }
        assertEquals(listOf(visitId), allVisits(fieldworker.store).map { it.id })
        assertEquals(listOf(own), allVisits(coordinator.store).map { it.id })
    }

    h.test("a_coordinator_reads_its_organisations_report_from_the_report_document") {
        val fieldworker = enrolled("report-field", "fieldworker")
        val coordinator = enrolled("report-coord", "coordinator")
        // Nothing published for this device yet: the report the hub sent is empty, or none.
        coordinator.store.sync()
        val lastMonth = today.withDayOfMonth(1).minusDays(1)
        val period = lastMonth.toString().substring(0, 7)
        for ((people, theme) in listOf(7 to Theme.MEDICAL, 9 to Theme.MEDICAL, 6 to Theme.SHELTER, 2 to Theme.LEGAL)) {
            fieldworker.store.logVisit(visitDetails(date = lastMonth, people = people, themes = listOf(theme)))
        }
        assertTrue(fieldworker.store.sync().documentsPushed >= 1)
        // The operator publishes last month's people by organisation and theme.
        val csv = HubCli.run("report", "--data", Env.hubData, "--table", "org,theme", "--period", period, "--format", "csv")
        val published = csv.lines().drop(1).filter { it.isNotBlank() }.map { it.split(",") }
            .filter { it[1] == Env.org }
            .associate { it[2] to it[3].toLongOrNull() }
        assertTrue(published.isNotEmpty(), "the organisation's row: $csv")

        val observer = RecordingObserver()
        coordinator.store.subscribe(observer).use {
            coordinator.store.sync()
            eventually(what = "the new report's change") { observer.changes.any { it.report } }
        }
        val report = assertNotNull(coordinator.store.orgReport(), "a coordinator's device holds the report")
        assertEquals(Env.org, report.organisation)
        val byTheme = assertNotNull(
            report.tables.firstOrNull { it.period == period && it.dimension == "theme" && it.measure == "people" },
            "last month's people by theme: $report",
        )
        assertFalse(byTheme.rowsAddUp, "a visit about two themes counts under both")
        assertEquals(5, byTheme.threshold)
        // Exactly the hub's published row of the organisation: counts, suppressions and total.
        assertEquals(published - "(all)", byTheme.rows.associate { it.value to it.count })
        assertEquals(published["(all)"], byTheme.total)
        assertTrue(byTheme.rows.all { r -> r.count.let { it == null || it == 0L || it >= 5L } }, "$byTheme")
        // At least this test's 22 people, of whom 16 about medical matters (other tests log
        // visits last month too); the 2 about legal matters alone are never published as 2.
        assertTrue((byTheme.total ?: 0L) >= 22L, "$byTheme")
        assertTrue((byTheme.rows.first { it.value == "medical" }.count ?: 0L) >= 16L, "$byTheme")
        assertTrue(byTheme.rows.none { it.count in 1L..4L }, "$byTheme")

        // A field worker's device receives no report, and no colleague's raw visit log reached
        // the coordinator's.
        assertNull(fieldworker.store.orgReport())
        assertTrue(allVisits(coordinator.store).none { it.details.date == lastMonth && it.details.peopleReached == 9 })
    }

    h.test("fieldworker_cannot_add_or_edit_partners") {
        val coordinator = enrolled("coord2", "coordinator")
        val p = partner("Vluchtelingenwerk Vlaanderen", Region.BRUSSELS, themes = listOf(Theme.INTERNATIONAL_PROTECTION))
        coordinator.store.addPartner(p)
        coordinator.store.sync()
        val t = enrolled("fieldworker", "fieldworker")
        t.store.sync()
        val before = t.store.partnerCount()
        expectThrows<OutreachException.Unauthorized> { t.store.addPartner(partner("Mon partenaire", Region.LIEGE)) }
        expectThrows<OutreachException.Unauthorized> { t.store.editPartner(p.id, listOf(PartnerEdit.Name("Renamed"))) }
        expectThrows<OutreachException.Unauthorized> { t.store.putBrochure(brochure("Retour")) }
        assertEquals(before, t.store.partnerCount())
        assertEquals(p.name, t.store.partner(p.id).name)
        // The app knows before it tries: a field worker suggests, a coordinator of a region
        // without stewards edits.
        assertEquals(EditRight.Suggest(listOf()), t.store.editRight(Region.BRUSSELS))
        assertEquals(EditRight.Edit, coordinator.store.editRight(Region.BRUSSELS))
        // A fieldworker logs visits all the same.
        t.store.logVisit(visitDetails())
        assertTrue(t.store.sync().complete)
    }

    h.test("suggestion_made_offline_and_answered") {
        val coordinator = enrolled("suggest-coord", "coordinator")
        val office = location(3600, "Genk", Region.LIMBURG, hours = weekdays(9 * 60, 17 * 60))
        val p = partner("CAW Genk", Region.LIMBURG, OrgKind.WELFARE_CENTRE, locations = listOf(office))
        coordinator.store.addPartner(p)
        coordinator.store.sync()
        val worker = enrolled("suggest-worker", "fieldworker")
        worker.store.sync()
        // Offline, the worker suggests new hours; a note naming someone is refused.
        val hours = "locations.${office.id}.hours"
        expectThrows<OutreachException.PersonalData> {
            worker.store.suggest(p.id, "Ask Jan, 0470 12 34 56", hours, "mon-fri 13:00-17:00")
        }
        val bad = expectThrows<OutreachException.InvalidInput> { worker.store.suggest(p.id, "Closed", field = "opening") }
        assertEquals("field", bad.field)
        val id = worker.store.suggest(p.id, "New hours on the door", hours, "mon-fri 13:00-17:00")
        val mine = worker.store.suggestions().single { it.id == id }
        assertNull(mine.answer)
        assertEquals(hours, mine.field)
        worker.store.sync()
        // The coordinator accepts: the edit is made, and the worker sees it accepted.
        coordinator.store.sync()
        val received = coordinator.store.suggestions().single { it.id == id }
        assertEquals(worker.store.deviceId(), received.author)
        expectThrows<OutreachException.Unauthorized> { worker.store.acceptSuggestion(id, null) }
        coordinator.store.acceptSuggestion(id, "Thanks")
        assertEquals(weekdays(13 * 60, 17 * 60), coordinator.store.partner(p.id).locations.single().hours)
        coordinator.store.sync()
        worker.store.sync()
        val answered = assertNotNull(worker.store.suggestions().single { it.id == id }.answer)
        assertEquals(Outcome.ACCEPTED, answered.outcome)
        assertEquals("Thanks", answered.reason)
        assertEquals(coordinator.store.deviceId(), answered.by)
        assertEquals(weekdays(13 * 60, 17 * 60), worker.store.partner(p.id).locations.single().hours)
        // A flag on the whole entry, dismissed with a reason.
        val flag = worker.store.suggest(p.id, "The office is being renovated")
        worker.store.sync()
        coordinator.store.sync()
        expectThrows<OutreachException.InvalidInput> { coordinator.store.dismissSuggestion(flag, " ") }
        coordinator.store.dismissSuggestion(flag, "Open as usual")
        coordinator.store.sync()
        worker.store.sync()
        assertEquals(Outcome.DISMISSED, worker.store.suggestions().single { it.id == flag }.answer?.outcome)
    }

    h.test("sync_cancelled_by_SyncCancellation") {
        val t = enrolled("cancel", "fieldworker")
        t.store.logVisit(visitDetails())
        val before = SyncCancellation()
        before.cancel()
        assertTrue(before.isCancelled())
        expectThrowsSuspend<OutreachException.Cancelled>("a sync cancelled before it started") { t.store.sync(null, before) }
        // Cancelled from the progress callback, on the sync's own thread, as it starts.
        val during = SyncCancellation()
        assertFalse(during.isCancelled())
        val progress = RecordingProgress { during.cancel() }
        expectThrowsSuspend<OutreachException.Cancelled>("a sync cancelled while running") { t.store.sync(progress, during) }
        assertTrue(progress.seen.isNotEmpty())
        assertFalse(SyncPhase.DONE in progress.phases, "phases: ${progress.phases}")
        // The store still works, and a later sync succeeds.
        t.store.logVisit(visitDetails(people = 9))
        assertEquals(2, allVisits(t.store).size)
        val report = t.store.sync(null, SyncCancellation())
        assertTrue(report.complete, "$report")
        assertEquals(0L, t.store.sync().changesPushed)
    }

    h.test("enroll_cancelled_by_SyncCancellation") {
        // SyncCancellation is documented to cancel enroll, sync and fetchBrochureFiles alike.
        val t = TestStore("enroll-cancel")
        val link = HubCli.enrollmentLink("fieldworker")
        val cancelled = SyncCancellation().apply { cancel() }
        val outcome = runCatching { t.store.enroll(link, "phone", cancel = cancelled) }
        assertTrue(
            outcome.exceptionOrNull() is OutreachException.Cancelled,
            "enroll with a cancelled SyncCancellation: expected Cancelled, got " +
                (outcome.exceptionOrNull()?.toString() ?: "an enrollment: ${outcome.getOrNull()}"),
        )
        assertNull(t.store.enrollment())
        // Cancelled before it reached the hub, the code is still good.
        assertEquals(Role.FIELDWORKER, t.store.enroll(link, "phone", cancel = SyncCancellation()).role)
    }

    h.test("sync_cancelled_with_its_coroutine") {
        val t = enrolled("coroutine", "fieldworker")
        t.store.logVisit(visitDetails())
        // The listener holds the sync at its first step until released, so the coroutine is
        // surely cancelled while the sync runs.
        var release = CountDownLatch(1)
        var started = CountDownLatch(1)
        val holding = RecordingProgress {
            started.countDown()
            release.await(10, TimeUnit.SECONDS)
        }
        coroutineScope {
            val job = async(Dispatchers.IO, start = CoroutineStart.UNDISPATCHED) { t.store.sync(holding) }
            assertTrue(withContext(Dispatchers.IO) { started.await(10, TimeUnit.SECONDS) }, "the sync started")
            val t0 = System.nanoTime()
            job.cancel()
            try {
                job.await()
                fail("a cancelled sync returned a report")
            } catch (e: CancellationException) {
                // expected
            }
            assertTrue(job.isCancelled)
            assertTrue((System.nanoTime() - t0) / 1_000_000 < 2_000, "the coroutine ended without waiting for the sync")
        }
        release.countDown()

        // withTimeout cancels the same way.
        release = CountDownLatch(1)
        started = CountDownLatch(1)
        val t0 = System.nanoTime()
        expectThrowsSuspend<TimeoutCancellationException> { withTimeout(300) { t.store.sync(holding) } }
        val ms = (System.nanoTime() - t0) / 1_000_000
        assertTrue(ms < 3_000, "withTimeout(300) took $ms ms")
        release.countDown()

        // The store still works, and a later sync succeeds.
        val visitId = t.store.logVisit(visitDetails(people = 11))
        assertEquals(11, t.store.visit(visitId).details.peopleReached)
        val report = t.store.sync()
        assertTrue(report.complete, "$report")
        assertEquals(0L, t.store.sync().changesPushed, "everything went up")
    }

    h.test("unreachable_hub_is_Network_after_retries") {
        val config = StoreConfig(languages = listOf("fr"), maxAttempts = 1, requestTimeoutSeconds = 2)
        val t = TestStore("unreachable", config)
        // Nobody listens on the port: the enrollment itself fails with Network.
        val closed = "http://127.0.0.1:${closedPort()}"
        expectThrowsSuspend<OutreachException.Network>("enrolling with a closed port") {
            t.store.enroll(closed, "phone", code = "AAAA-BBBB-CCCC-DDDD")
        }
        assertNull(t.store.enrollment())
        // A hub that goes away after the enrollment.
        PrivateHub("gone").use { hub ->
            t.store.enroll(hub.enrollmentLink("fieldworker"), "phone")
            assertTrue(t.store.sync().complete)
        }
        t.store.logVisit(visitDetails())
        val t0 = System.nanoTime()
        val e = expectThrowsSuspend<OutreachException.Network> { t.store.sync() }
        val ms = (System.nanoTime() - t0) / 1_000_000
        assertTrue(e.reason.isNotBlank())
        assertTrue(ms < 10_000, "a sync with one attempt and a 2 s timeout took $ms ms")
        assertEquals(1, allVisits(t.store).size, "the store still works")
        // With retries it still fails with Network, after backing off.
        t.store.close()
        t.open(config = config.copy(maxAttempts = 3)).use { again ->
            val t1 = System.nanoTime()
            expectThrowsSuspend<OutreachException.Network> { again.sync() }
            val retried = (System.nanoTime() - t1) / 1_000_000
            assertTrue(retried < 60_000, "three attempts took $retried ms")
            assertNotNull(again.enrollment())
        }
    }

    h.test("revoked_device_is_wiped") {
        val t = enrolled("revoked", "fieldworker")
        t.store.logVisit(visitDetails())
        assertTrue(t.store.sync().complete)
        assertTrue(File(t.path).exists())
        HubCli.revoke(t.store.deviceId())
        val e = expectThrowsSuspend<OutreachException.RevokedAndWiped> { t.store.sync() }
        assertTrue(e.reason.isNotBlank())
        assertEquals(listOf(), t.files().map { it.name }, "the database and its journal are deleted")
        expectThrows<OutreachException.Storage>("a call after the wipe") { t.store.visits(VisitQuery()) }
    }

    h.test("wipe_deletes_the_store") {
        val t = TestStore("wipe")
        val b = brochure("Le retour volontaire")
        t.store.putBrochure(b)
        t.store.publishBrochureFile(b.id, "fr", fakePdf("retour"), "application/pdf", "retour.pdf")
        t.store.logVisit(visitDetails())
        assertNotNull(t.store.brochureFile(b.id, listOf("fr")))
        t.store.wipe()
        assertEquals(mapOf(), snapshot(t.dir), "files left after wipe()")
        expectThrows<OutreachException.Storage>("visits() after wipe()") { t.store.visits(VisitQuery()) }
        expectThrows<OutreachException.Storage>("logVisit() after wipe()") { t.store.logVisit(visitDetails()) }
        expectThrows<OutreachException.Storage>("searchPartners() after wipe()") { t.store.searchPartners(PartnerQuery()) }
        expectThrows<OutreachException.Storage>("sync() after wipe()") { runBlocking { t.store.sync() } }
        assertFalse(File(t.path).exists())
    }

    h.test("eight_threads_at_once") {
        val t = enrolled("threads", "coordinator")
        val s = t.store
        val d = Directory(t)
        val before = allVisits(s).size
        val observer = RecordingObserver()
        val subscription = s.subscribe(observer)
        val threads = 8
        val perThread = 25
        val barrier = CyclicBarrier(threads + 1)
        val errors = Collections.synchronizedList(mutableListOf<Throwable>())
        val ids = Collections.synchronizedList(mutableListOf<String>())
        val searches = AtomicInteger()
        val workers = (0 until threads).map { n ->
            Thread {
                try {
                    barrier.await()
                    // Each thread waits for its calls, as a worker thread of an app would.
                    runBlocking { repeat(perThread) { i ->
                        ids += s.logVisit(visitDetails(people = (1 + (n + i) % 20), note = "thread $n visit $i"))
                        if (i % 5 == n % 5) {
                            val found = s.searchPartners(PartnerQuery(themes = listOf(Theme.LEGAL), languages = listOf("ar")))
                            check(found.map { it.id } == listOf(d.liege.id)) { "search in thread $n: $found" }
                            s.visitCounts()
                            searches.incrementAndGet()
                        }
                    } }
                } catch (e: Throwable) {
                    errors += e
                }
            }.apply { start() }
        }
        val sync = Thread {
            try {
                barrier.await()
                runBlocking {
                    repeat(2) {
                        check(s.sync().complete) { "a sync during the writes was incomplete" }
                        delay(20)
                    }
                }
            } catch (e: Throwable) {
                errors += e
            }
        }
        sync.start()
        workers.forEach { it.join(60_000) }
        sync.join(60_000)
        subscription.close()
        assertEquals(listOf(), errors.map { it.toString() })
        assertEquals(threads * perThread, ids.toSet().size)
        val listed = allVisits(s)
        assertEquals(before + threads * perThread, listed.size, "visits listed")
        assertTrue(listed.map { it.id }.containsAll(ids))
        // A coordinator's sync also brings the visit logs of the org's other devices (the
        // earlier tests'): the observer hears of those too, but they are not this device's.
        val heard = observer.visits.toSet()
        assertEquals(setOf(), ids.toSet() - heard, "the observer missed visits")
        val others = heard - ids.toSet()
        assertEquals(setOf(), others intersect listed.map { it.id }.toSet(), "visits of this device heard of but not logged in the test")
        assertEquals(threads * perThread / 5, searches.get())
        assertTrue(s.sync().complete)
        assertEquals(0L, s.sync().changesPushed, "everything went up")
    }

    h.test("brochure_file_published_and_verified") {
        val t = TestStore("brochure", StoreConfig(languages = listOf("fr", "nl")))
        val s = t.store
        val b = brochure("Retour volontaire : vos droits")
        s.putBrochure(b)
        val bytes = fakePdf("Retour volontaire")
        assertNull(s.brochureFile(b.id, listOf("fr")), "no file yet")
        s.publishBrochureFile(b.id, "fr", bytes, "application/pdf", "retour-fr.pdf")
        val file = assertNotNull(s.brochureFile(b.id, listOf("fr")))
        assertEquals("fr", file.lang)
        assertEquals("application/pdf", file.mediaType)
        assertEquals("retour-fr.pdf", file.fileName)
        assertEquals(bytes.size.toLong(), file.size)
        assertEquals(sha256(bytes), file.sha256)
        assertContentEquals(bytes, File(file.path).readBytes())
        // Another language falls back to the one there is.
        assertEquals(file, s.brochureFile(b.id, listOf("nl")))
        val record = s.brochure(b.id)
        assertEquals(listOf(BrochureFile("fr", sha256(bytes), bytes.size.toLong(), "application/pdf", "retour-fr.pdf")), record.files)
        val view = s.brochures(listOf("fr")).single { it.id == b.id }
        assertEquals("Retour volontaire : vos droits", view.title)
        assertEquals(sha256(bytes), view.file?.sha256)
        expectThrows<OutreachException.InvalidInput>("a text file") {
            s.publishBrochureFile(b.id, "nl", "hello".toByteArray(), "text/plain", "hello.txt")
        }
        expectThrows<OutreachException.NotFound> {
            s.publishBrochureFile(newId(), "fr", bytes, "application/pdf", "x.pdf")
        }
    }

    h.test("brochure_file_reaches_another_device") {
        val coordinator = enrolled("brochure-coord", "coordinator")
        val reader = enrolled("brochure-reader", "fieldworker")
        val b = brochure("Aide médicale urgente")
        val bytes = fakePdf("AMU " + newId())
        coordinator.store.putBrochure(b)
        coordinator.store.publishBrochureFile(b.id, "fr", bytes, "application/pdf", "amu.pdf")
        val up = coordinator.store.sync()
        assertTrue(up.filesUploaded >= 1, "up: $up")
        val down = reader.store.sync()
        assertTrue(down.files.fetched >= 1 && down.files.hashMismatches == 0, "down: $down")
        val file = assertNotNull(reader.store.brochureFile(b.id, listOf("fr")), "the file arrived")
        assertEquals(sha256(bytes), file.sha256)
        assertContentEquals(bytes, File(file.path).readBytes())
        assertEquals(b.title, reader.store.brochure(b.id).title)
    }

    h.test("fetch_brochure_files_on_demand_and_cancelled") {
        val coordinator = enrolled("fetch-coord", "coordinator")
        val reader = enrolled("fetch-reader", "fieldworker", StoreConfig(languages = listOf("nl", "fr"), fetchFiles = false))
        val b = brochure("Terugkeer")
        val bytes = fakePdf("terugkeer " + newId())
        coordinator.store.putBrochure(b)
        coordinator.store.publishBrochureFile(b.id, "fr", bytes, "application/pdf", "terugkeer.pdf")
        coordinator.store.sync()
        val down = reader.store.sync()
        assertEquals(0, down.files.fetched, "fetchFiles = false: $down")
        assertNull(reader.store.brochureFile(b.id, listOf()), "no file fetched yet")
        assertNotNull(reader.store.brochures(listOf()).single { it.id == b.id }.file, "the catalog names the file")
        val cancelled = SyncCancellation().apply { cancel() }
        expectThrowsSuspend<OutreachException.Cancelled> { reader.store.fetchBrochureFiles(cancelled) }
        assertNull(reader.store.brochureFile(b.id, listOf()))
        val fetched = reader.store.fetchBrochureFiles()
        assertTrue(fetched.fetched >= 1 && fetched.bytes >= bytes.size.toLong() && fetched.failed == 0, "$fetched")
        val file = assertNotNull(reader.store.brochureFile(b.id, listOf()))
        assertEquals(sha256(bytes), file.sha256)
        assertContentEquals(bytes, File(file.path).readBytes())
    }

    h.test("store_config_and_new_id") {
        val config = StoreConfig(languages = listOf("ar", "fr"), retentionDays = 45, requestTimeoutSeconds = 10, maxAttempts = 2, fetchFiles = false)
        val t = TestStore("config", config)
        assertEquals(config, t.store.config())
        val ids = (1..100).map { newId() }.toSet()
        assertEquals(100, ids.size)
        assertTrue(ids.all { Regex("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$").matches(it) }, ids.first())
        assertTrue(t.store.deviceId() !in ids)
    }
}
