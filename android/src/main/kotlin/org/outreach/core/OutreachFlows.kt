// The small idiomatic layer over the generated bindings (outreach_ffi.kt, same package; the core's
// records and enums in org.outreach.core.model): the store's changes as a Flow, a sync as a Flow
// of progress ending with its report, and the store's blocking calls as suspend functions on an
// I/O dispatcher.
package org.outreach.core

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.channelFlow
import kotlinx.coroutines.withContext
import org.outreach.core.model.PartnerSummary
import org.outreach.core.model.SyncProgress
import org.outreach.core.model.SyncReport

/**
 * What the store changed, as a cold [Flow]: collecting subscribes, cancelling the collector
 * (leaving the `viewModelScope`, say) closes the subscription. Every commit that touches
 * partners, brochures or visits is emitted, none is dropped; collect on the dispatcher you need
 * (`flowOn` does not apply: emissions come from the thread that committed).
 *
 * ```
 * store.changes()
 *     .filter { it.visits.isNotEmpty() }
 *     .collect { refreshVisitList() }
 * ```
 */
fun OutreachStore.changes(): Flow<StoreChanges> =
    callbackFlow {
        val subscription =
            subscribe(
                object : StoreObserver {
                    override fun onChange(changes: StoreChanges) {
                        trySend(changes)
                    }
                },
            )
        awaitClose { subscription.close() }
    }.buffer(Channel.UNLIMITED)

/** One step of [syncEvents]. */
sealed interface SyncEvent {
    /** The sync progressed. */
    data class Progress(val progress: SyncProgress) : SyncEvent

    /** The sync finished; always the last event of a successful sync. */
    data class Finished(val report: SyncReport) : SyncEvent
}

/**
 * Runs a sync when collected, emitting its progress then [SyncEvent.Finished] with the report.
 * Cancelling the collector cancels the sync (it ends at its next step; the store stays
 * consistent). A failure is thrown as the [OutreachException] of [OutreachStore.sync].
 */
fun OutreachStore.syncEvents(): Flow<SyncEvent> =
    channelFlow {
        val report =
            sync(
                object : SyncProgressListener {
                    override fun onProgress(progress: SyncProgress) {
                        trySend(SyncEvent.Progress(progress))
                    }
                },
                null,
            )
        send(SyncEvent.Finished(report))
    }.buffer(Channel.UNLIMITED)

/** Logs a visit off the calling thread (see [OutreachStore.logVisit]). */
suspend fun OutreachStore.logVisitIo(
    details: VisitDetails,
    dispatcher: CoroutineDispatcher = Dispatchers.IO,
): String = withContext(dispatcher) { logVisit(details) }

/** Searches the directory off the calling thread (see [OutreachStore.searchPartners]). */
suspend fun OutreachStore.searchPartnersIo(
    query: PartnerQuery,
    dispatcher: CoroutineDispatcher = Dispatchers.IO,
): List<PartnerSummary> = withContext(dispatcher) { searchPartners(query) }

/** The personal data a note holds, as the text ranges to highlight (UTF-16, like Kotlin strings). */
fun PersonalDataSpan.range(): IntRange = startUtf16.toInt() until endUtf16.toInt()
