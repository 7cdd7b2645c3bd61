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
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlin.test.assertEquals
import kotlin.test.assertTrue

fun registerFlowTests(h: Harness) {
    h.test("changes_flow_emits_commits_and_stops_when_its_collector_is_cancelled") {
        val t = TestStore("changes-flow")
        val first = t.store.logVisit(visitDetails(note = "before collecting"))
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
        delay(100)
        assertEquals(before, seen.size, "no change is emitted once the collector is cancelled")
    }

    h.test("sync_events_flow_reports_progress_then_the_report") {
        val t = enrolled("sync-events", "fieldworker")
        val visit = t.store.logVisit(visitDetails(note = "synced through the flow"))
        val events = t.store.syncEvents().toList()
        val last = events.last()
        assertTrue(last is SyncEvent.Finished, "the last event is the report: $last")
        assertTrue(last.report.changesPushed >= 1L, "the visit was sent: ${last.report}")
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
        val shown = CopyOnWriteArrayList<List<Visit>>()
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
            showVisits = { shown += it },
        )
        try {
            assertEquals(listOf("0475 12 34 56"), highlighted.map { note.substring(it) })
            assertTrue(run.store.visits(VisitQuery()).isEmpty(), "the refused note stored nothing")
            assertEquals(SyncPhase.DONE, phases.last())
            assertTrue(report!!.complete)
            assertTrue(run.partners.isEmpty(), "this new store has no directory yet")
            eventually(what = "the example's visit list, empty at first") { shown.isNotEmpty() }
            assertTrue(shown.first().isEmpty(), "the refused note stored nothing: ${shown.first()}")
            val logged = run.store.logVisit(visitDetails(note = "after the example"))
            eventually(what = "the logged visit in the example's list") { shown.last().any { it.id == logged } }
        } finally {
            scope.coroutineContext[Job]!!.cancelAndJoin()
            run.store.close()
        }
    }

    h.test("visits_flow_shows_the_list_then_a_visit_logged_elsewhere") {
        val t = TestStore("visits-flow")
        val first = t.store.logVisit(visitDetails(note = "before collecting"))
        val seen = CopyOnWriteArrayList<List<Visit>>()
        coroutineScope {
            val job = launch(Dispatchers.Default) { t.store.visitsFlow().collect { seen += it } }
            eventually(what = "the first list") { seen.isNotEmpty() }
            assertEquals(listOf(first), seen.first().map { it.id }, "the list as it is when collecting starts")
            // Logged by another part of the app, on another thread: the list follows.
            val second = launch(Dispatchers.Default) { t.store.logVisit(visitDetails(note = "logged elsewhere")) }
            second.join()
            eventually(what = "the visit logged elsewhere") { seen.last().size == 2 }
            assertEquals(setOf("before collecting", "logged elsewhere"), seen.last().map { it.details.note }.toSet())
            job.cancelAndJoin()
        }
        val before = seen.size
        t.store.logVisit(visitDetails(note = "after the collector left"))
        delay(100)
        assertEquals(before, seen.size, "nothing is emitted once the collector is cancelled")
        t.store.close()
    }

    h.test("partners_flow_follows_an_edit_made_on_another_device") {
        val name = "Flow partner ${newId().take(8)}"
        val coordinator = enrolled("partners-flow-coordinator", "coordinator")
        val field = enrolled("partners-flow-field", "fieldworker")
        val p = partner(name, Region.LIMBURG, locations = listOf(location(3500, "Hasselt", Region.LIMBURG)))
        coordinator.store.addPartner(p)
        coordinator.store.sync()
        val seen = CopyOnWriteArrayList<List<PartnerSummary>>()
        coroutineScope {
            val job = launch(Dispatchers.Default) {
                field.store.partnersFlow(PartnerQuery(text = name.substringAfterLast(' '))).collect { seen += it }
            }
            eventually(what = "the first list") { seen.isNotEmpty() }
            assertTrue(seen.first().isEmpty(), "the field device has not synced yet: ${seen.first()}")
            field.store.sync()
            eventually(what = "the partner received by a sync") { seen.last().map { it.name } == listOf(name) }
            coordinator.store.editPartner(p.id, listOf(PartnerEdit.Name("$name Hasselt")))
            coordinator.store.sync()
            field.store.sync()
            eventually(ms = 5_000, what = "the edit made on the other device") {
                seen.last().map { it.name } == listOf("$name Hasselt")
            }
            job.cancelAndJoin()
        }
        coordinator.store.close()
        field.store.close()
    }

    h.test("brochures_flow_follows_a_brochure_put") {
        val t = TestStore("brochures-flow")
        val seen = CopyOnWriteArrayList<List<BrochureView>>()
        coroutineScope {
            val job = launch(Dispatchers.Default) { t.store.brochuresFlow(listOf("fr")).collect { seen += it } }
            eventually(what = "the first list") { seen.isNotEmpty() }
            val b = brochure("Vos droits")
            t.store.putBrochure(b)
            eventually(what = "the brochure put") { seen.last().any { it.id == b.id } }
            job.cancelAndJoin()
        }
        t.store.close()
    }
}
