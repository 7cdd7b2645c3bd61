// Tests of the Kotlin layer of android/src/main/kotlin (OutreachFlows.kt) and of the README's
// Kotlin example, on the JVM against the real library and the test hub.
package org.outreach.core

import org.outreach.core.model.*
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlin.test.assertEquals
import kotlin.test.assertTrue

fun registerFlowTests(h: Harness) {
    h.test("changes_flow_emits_commits_and_stops_when_its_collector_is_cancelled") {
        val t = TestStore("changes-flow")
        // The suspend wrapper of the Kotlin layer, on the IO dispatcher.
        val first = t.store.logVisitIo(visitDetails(note = "before collecting"))
        assertEquals(first, t.store.visit(first).id)
        val seen = CopyOnWriteArrayList<StoreChanges>()
        val logged = mutableListOf<String>()
        coroutineScope {
            val job = launch(Dispatchers.Default) { t.store.changes().collect { seen += it } }
            // The flow subscribes once collection starts: log until the first change arrives.
            eventually(what = "a change through the flow") {
                logged += t.store.logVisit(visitDetails(note = "flow ${logged.size}"))
                seen.isNotEmpty()
            }
            job.cancelAndJoin()
        }
        val told = seen.flatMap { it.visits }
        assertTrue(told.isNotEmpty() && logged.containsAll(told), "the flow tells logged visits: $told")
        val before = seen.size
        t.store.logVisit(visitDetails(note = "after the collector left"))
        Thread.sleep(100)
        assertEquals(before, seen.size, "no change is emitted once the collector is cancelled")
    }

    h.test("sync_events_flow_reports_progress_then_the_report") {
        val t = enrolled("sync-events", "fieldworker")
        val visit = t.store.logVisit(visitDetails(note = "synced through the flow"))
        val events = t.store.syncEvents().toList()
        val last = events.last()
        assertTrue(last is SyncEvent.Finished, "the last event is the report: $last")
        assertTrue(last.report.changesPushed >= 1uL, "the visit was sent: ${last.report}")
        val phases = events.filterIsInstance<SyncEvent.Progress>().map { it.progress.phase }
        assertEquals(SyncPhase.CONNECTING, phases.first())
        assertEquals(SyncPhase.DONE, phases.last())
        assertTrue(t.store.visits(VisitQuery()).any { it.id == visit })
    }

    h.test("readme_kotlin_example_runs_as_written") {
        val t = TestStore("readme")
        t.store.close()
        val note = "Rappeler au 0475 12 34 56 demain"
        val highlighted = mutableListOf<IntRange>()
        val phases = mutableListOf<SyncPhase>()
        var report: SyncReport? = null
        val refreshed = CopyOnWriteArrayList<StoreChanges>()
        // The app's scope (a ViewModel's, say): its own threads, as on Android.
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        val run = readmeExample(
            dbPath = t.path,
            storeKey = t.key,
            link = HubCli.enrollmentLink("fieldworker"),
            noteText = note,
            scope = scope,
            highlight = { highlighted += it },
            showProgress = { phases += it },
            showDone = { report = it },
            refresh = { refreshed += it },
        )
        try {
            assertEquals(listOf("0475 12 34 56"), highlighted.map { note.substring(it) })
            assertTrue(run.store.visits(VisitQuery()).isEmpty(), "the refused note stored nothing")
            assertEquals(SyncPhase.DONE, phases.last())
            assertTrue(report!!.complete)
            assertTrue(run.partners.isEmpty(), "this new store has no directory yet")
            eventually(what = "the example's change collector") {
                run.store.logVisit(visitDetails(note = "after the example"))
                refreshed.isNotEmpty()
            }
        } finally {
            scope.coroutineContext[Job]!!.cancelAndJoin()
            run.store.close()
        }
    }
}
