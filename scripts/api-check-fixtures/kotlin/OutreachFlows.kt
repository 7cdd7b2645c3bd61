// api-check fixture: a hand-written Kotlin layer over the generated bindings (extension
// functions, a sealed interface), as android/src/main/kotlin has; part of the SDK's API too.
package org.outreach.core

import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow

/** What the store changed, as a cold [Flow]. */
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
    }

/** Partners matching [query], again after every change to the directory. */
fun OutreachStore.partnersFlow(query: PartnerQuery = PartnerQuery()): Flow<List<PartnerSummary>> =
    changes().map { searchPartners(query) }

/** One step of a sync. */
sealed interface SyncEvent {
    /** The sync progressed. */
    data class Progress(val progress: SyncProgress) : SyncEvent

    /** The sync finished. */
    data class Finished(val report: SyncReport) : SyncEvent
}

private fun helper(text: String): Int = text.length

internal val cache = mutableMapOf<String, String>()
