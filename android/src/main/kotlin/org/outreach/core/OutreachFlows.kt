// The small idiomatic layer over the generated bindings (outreach_ffi.kt, same package; the core's
// records and enums in org.outreach.core.model): the store's changes as a Flow, the lists the
// screens show as Flows that re-run on those changes, and a sync as a Flow of progress ending with
// its report. Every store call that touches the disk is already `suspend` and runs on the
// library's own threads: no dispatcher is needed to call it from the main thread.
package org.outreach.core

import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.channelFlow
import kotlinx.coroutines.flow.distinctUntilChanged
import org.outreach.core.model.BrochureView
import org.outreach.core.model.PartnerSummary
import org.outreach.core.model.SyncProgress
import org.outreach.core.model.SyncReport
import org.outreach.core.model.VisitQuery

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
                progress =
                    object : SyncProgressListener {
                        override fun onProgress(progress: SyncProgress) {
                            trySend(SyncEvent.Progress(progress))
                        }
                    },
            )
        send(SyncEvent.Finished(report))
    }.buffer(Channel.UNLIMITED)

/**
 * This device's visits matching [query], newest first, as a cold [Flow]: the list now, then again
 * after every commit that touches visits (logged here, amended, removed by retention, or received
 * by a sync). A burst of commits re-runs the query once; an unchanged list is not emitted again.
 * Collect it from the main thread: the query runs on the library's threads.
 *
 * ```
 * store.visitsFlow(VisitQuery(limit = 50)).collect { visits -> adapter.submitList(visits) }
 * ```
 */
fun OutreachStore.visitsFlow(query: VisitQuery = VisitQuery()): Flow<List<Visit>> =
    requery({ it.visits.isNotEmpty() }) { visits(query) }

/**
 * The directory's partners matching [query], as [searchPartners] orders them, now and after
 * every commit that touches partners (an edit here or a directory change from a sync).
 */
fun OutreachStore.partnersFlow(query: PartnerQuery = PartnerQuery()): Flow<List<PartnerSummary>> =
    requery({ it.partners.isNotEmpty() }) { searchPartners(query) }

/**
 * The brochures in force, each in the first of [languages] it has (none given: the store's
 * configured languages), now and after every commit that touches brochures.
 */
fun OutreachStore.brochuresFlow(languages: List<String> = listOf()): Flow<List<BrochureView>> =
    requery({ it.brochures.isNotEmpty() }) { brochures(languages) }

/**
 * Runs [query] when collected and again after each commit that [relevant] accepts. The
 * subscription comes first, so no commit between the first query and the subscription is missed;
 * the trigger is conflated, so a burst of commits re-runs the query once, after the burst began.
 * Cancelling the collector closes the subscription. A failing query ends the flow with its
 * [OutreachException].
 */
private fun <T> OutreachStore.requery(
    relevant: (StoreChanges) -> Boolean,
    query: suspend () -> T,
): Flow<T> =
    channelFlow {
        val trigger = Channel<Unit>(Channel.CONFLATED)
        val subscription =
            subscribe(
                object : StoreObserver {
                    override fun onChange(changes: StoreChanges) {
                        if (relevant(changes)) trigger.trySend(Unit)
                    }
                },
            )
        try {
            trigger.trySend(Unit)
            for (ignored in trigger) send(query())
        } finally {
            subscription.close()
        }
    }.distinctUntilChanged()

/** The personal data a note holds, as the text ranges to highlight (UTF-16, like Kotlin strings). */
fun PersonalDataSpan.range(): IntRange = startUtf16 until endUtf16
