// The Kotlin example of README.md ("For app developers"), compiled and run by the host tests so
// that the README never shows an API that does not exist. The README shows the body of
// readmeExample; keep the two the same.
package org.outreach.core

import org.outreach.core.model.*
import java.time.LocalDate
import java.time.LocalDateTime
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.launch

/** What the example hands back to its test. */
class ReadmeRun(val store: OutreachStore, val partners: List<PartnerSummary>)

suspend fun readmeExample(
    dbPath: String,
    storeKey: ByteArray,
    link: String,
    noteText: String,
    scope: CoroutineScope,
    highlight: (IntRange) -> Unit,
    showProgress: (SyncPhase) -> Unit,
    showDone: (SyncReport) -> Unit,
    showVisits: (List<Visit>) -> Unit,
): ReadmeRun {
    // Every call that touches the disk or the network suspends and runs on the library's own
    // threads: call them from the main dispatcher (a LaunchedEffect, viewModelScope) as they are.
    val store = OutreachStore.open(
        path = dbPath, // e.g. File(context.noBackupFilesDir, "outreach.db").path
        key = storeKey, // 32 random bytes, wrapped by the Android Keystore
        config = StoreConfig(languages = listOf("fr", "nl")),
    )

    // Offline: legal help in Arabic, open now, nearest first.
    val partners = store.searchPartners(
        PartnerQuery(
            themes = listOf(Theme.LEGAL),
            languages = listOf("ar"),
            openAt = LocalDateTime.now(),
            near = GeoPoint(latitude = 50.85, longitude = 4.35),
        ),
    )

    // Log the contact: no name, no address, no coordinates; the note is checked.
    try {
        store.logVisit(
            VisitDetails(
                date = LocalDate.now(), partOfDay = PartOfDay.EVENING,
                postcode = 1000, municipality = "Brussel",
                setting = Setting.SHELTER, activity = Activity.INDIVIDUAL_CONTACT,
                peopleReached = 1, themes = listOf(Theme.LEGAL, Theme.VOLUNTARY_RETURN),
                note = noteText,
            ),
        )
    } catch (e: OutreachException.PersonalData) {
        e.spans.forEach { highlight(it.range()) } // a phone number, an IBAN, a birth date...
    }

    // Back online: enroll once (the QR code's link), then sync; the visit list follows the store.
    store.enroll(link, "Phone 12")
    store.syncEvents().collect { event ->
        when (event) {
            is SyncEvent.Progress -> showProgress(event.progress.phase)
            is SyncEvent.Finished -> showDone(event.report)
        }
    }
    scope.launch { store.visitsFlow(VisitQuery(limit = 50)).collect { visits -> showVisits(visits) } }

    return ReadmeRun(store, partners)
}
