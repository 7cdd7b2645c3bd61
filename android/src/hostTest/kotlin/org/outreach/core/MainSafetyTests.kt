// Main safety: every OutreachStore call that touches the disk or the network suspends, and its
// work runs on the library's own threads. Each call is made from a coroutine on a single-threaded
// dispatcher (standing in for Android's main thread) while a second coroutine on that dispatcher
// counts: had the call held the thread, the count would not move during it. No timing is
// measured. The directory is the bench's (2,000 partners, from `bench directory`).
//
// A call whose work is quicker than UniFFI's first poll would finish before the coroutine ever
// suspends, and the count would not move though nothing blocked. So the work is held where it
// runs until the count has moved: the library tells the log sink (at Trace, `call done`) on the
// thread that did the work, before it wakes the caller, and the sink of these tests waits there
// for the counter. Work on the calling thread, or a calling thread that waits for the work,
// leaves the counter still: the sink gives up and the check fails.
package org.outreach.core

import org.outreach.core.model.*
import java.io.File
import java.util.concurrent.Executors
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import kotlin.coroutines.Continuation
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlin.test.fail
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.coroutines.yield

/** One thread, like Android's main thread, as a dispatcher. */
class MainThread : AutoCloseable {
    private val executor = Executors.newSingleThreadExecutor { r -> Thread(r, "test-main") }
    val dispatcher: CoroutineDispatcher = executor.asCoroutineDispatcher()

    override fun close() = executor.shutdown()
}

/** Holds each call's work (its `call done` line) until the counter has moved since the call began. */
class WorkGate : LogSink {
    @Volatile var counter: AtomicLong? = null
    @Volatile var since = 0L
    val held = AtomicInteger()
    val gaveUp = CopyOnWriteArrayList<String>()

    override fun log(level: LogLevel, target: String, message: String) {
        if (target != "outreach::ffi" || !message.startsWith("call done")) return
        val ticks = counter ?: return
        if (Thread.currentThread().name == "test-main") {
            gaveUp += "work on the calling thread: $message"
            return
        }
        val deadline = System.nanoTime() + 10_000_000_000L
        while (ticks.get() <= since) {
            if (System.nanoTime() > deadline) {
                gaveUp += "the counter did not move while the work was held: $message"
                return
            }
            Thread.sleep(1)
        }
        held.incrementAndGet()
    }
}

/**
 * Runs [call] in a coroutine on [main] while a second coroutine on [main] counts, and returns how
 * far it counted during the call: 0 if the call held the thread from start to end. With a [gate],
 * the call's work waits for the counter to move before it completes.
 */
suspend fun ticksDuring(main: CoroutineDispatcher, gate: WorkGate? = null, call: suspend () -> Unit): Long =
    withContext(main) {
        val ticks = AtomicLong()
        val ticker = launch {
            while (true) {
                ticks.incrementAndGet()
                yield()
            }
        }
        yield() // the ticker is running
        val before = ticks.get()
        gate?.since = before
        gate?.counter = ticks
        try {
            call()
        } finally {
            gate?.counter = null
        }
        val during = ticks.get() - before
        ticker.cancelAndJoin()
        during
    }

/** Checks each named call from [main], and which of the store's suspend methods were covered. */
class MainSafety(private val main: CoroutineDispatcher) : AutoCloseable {
    val called = mutableSetOf<String>()
    private val gate = WorkGate().also { setLogSink(it, LogLevel.TRACE) }

    /** Back to a sink that drops everything but errors. */
    override fun close() = setLogSink(object : LogSink {
        override fun log(level: LogLevel, target: String, message: String) {}
    }, LogLevel.ERROR)

    /** [call] must let the other coroutine run; an [OutreachException] it throws is expected and kept. */
    suspend operator fun <T> invoke(name: String, call: suspend () -> T): T? {
        var result: T? = null
        val heldBefore = gate.held.get()
        val ticks = ticksDuring(main, gate) {
            result = try {
                call()
            } catch (e: OutreachException) {
                null
            }
        }
        assertTrue(gate.gaveUp.isEmpty(), "$name: ${gate.gaveUp}")
        assertTrue(gate.held.get() > heldBefore, "$name did its work on no thread of the library")
        assertTrue(ticks > 0, "$name held the calling thread: the other coroutine on it did not run during the call")
        called += name
        return result
    }

    companion object {
        /** The suspend methods of OutreachStore (a suspend method takes a Continuation last on the JVM). */
        val suspendMethods: Set<String> =
            OutreachStore::class.java.declaredMethods
                .filter { java.lang.reflect.Modifier.isPublic(it.modifiers) }
                .filter { it.parameterTypes.lastOrNull() == Continuation::class.java }
                .map { it.name }
                .toSet()

        /** The calls allowed to stay synchronous: memory only. */
        val memoryOnly = setOf("deviceId", "config", "subscribe")
    }
}

/** A copy of the bench's directory store, opened from [main]. */
suspend fun benchDirectory(name: String, safety: MainSafety): OutreachStore {
    val dir = File(Env.tmp, "$name-${newId().take(8)}").also { it.mkdirs() }
    val source = File(System.getProperty("outreach.directory") ?: error("outreach.directory is not set (run android/host-test.sh)"))
    val copy = File(dir, "outreach.db")
    File(source, "directory.db").copyTo(copy)
    val key = hexToBytes(File(source, "key.hex").readText().trim())
    return safety("open") { OutreachStore.open(copy.path, key, StoreConfig(languages = listOf("fr", "nl"))) }
        ?: fail("the bench directory did not open")
}

fun registerMainSafetyTests(h: Harness) {
    h.test("a_call_that_holds_the_thread_is_seen_by_the_counting_coroutine") {
        // The check itself can fail: a blocking call leaves the counter where it was.
        MainThread().use { main ->
            assertEquals(0L, ticksDuring(main.dispatcher) { Thread.sleep(50) })
            assertTrue(ticksDuring(main.dispatcher) { kotlinx.coroutines.delay(50) } > 0)
        }
    }

    h.test("every_disk_call_suspends_off_a_single_threaded_dispatcher_over_the_bench_directory") {
        MainThread().use { main ->
            val safety = MainSafety(main.dispatcher)
            val s = try {
                benchDirectory("main-safe", safety)
            } catch (e: Throwable) {
                safety.close()
                throw e
            }
            val c = safety
            try {
                assertEquals(2000L, c("partnerCount") { s.partnerCount() })
                val found = c("searchPartners") { s.searchPartners(PartnerQuery(text = "caw")) }!!
                assertTrue(found.isNotEmpty(), "the bench directory has CAW partners")
                val id = found.first().id
                val p = c("partner") { s.partner(id) }!!
                assertEquals(id, p.id)
                c("partnersWithConflicts") { s.partnersWithConflicts() }
                c("partnerConflicts") { s.partnerConflicts(id) }
                c("partnerHistory") { s.partnerHistory(id, "name") }
                c("partnerChanges") { s.partnerChanges(id) }
                c("deviceNames") { s.deviceNames() }
                c("editRight") { s.editRight(p.region) }
                val added = c("addPartner") { s.addPartner(partner("Main-safe partner", Region.BRUSSELS)) }!!
                c("editPartner") { s.editPartner(added, listOf(PartnerEdit.WorkerNotes("Ring twice"))) }
                c("setPartnerStatus") { s.setPartnerStatus(added, PartnerStatus.INACTIVE) }
                c("markVerified") { s.markVerified(id, today, "Coordination") }
                c("markAllVerified") { s.markAllVerified(listOf(id), today, "Coordination") }
                c("stalePartners") { s.stalePartners(today) }
                c("staleEntries") { s.staleEntries(today) }
                val office = p.locations.first()
                c("markEntriesVerified") {
                    s.markEntriesVerified(listOf(EntryRef(id, Entry.Location(office.id))), today, "Coordination")
                }
                val suggestion = c("suggest") { s.suggest(id, "The office moved", field = "notes", value = "Now at the station") }!!
                assertTrue(c("suggestions") { s.suggestions() }!!.any { it.id == suggestion })
                // A device does not answer its own suggestion: these throw, from the pool, all the same.
                c("acceptSuggestion") { s.acceptSuggestion(suggestion) }
                c("dismissSuggestion") { s.dismissSuggestion(suggestion, "Not needed") }
                val b = brochure("Retour volontaire")
                c("putBrochure") { s.putBrochure(b) }
                c("publishBrochureFile") { s.publishBrochureFile(b.id, "fr", fakePdf("main-safe"), "application/pdf", "retour.pdf") }
                assertTrue(c("brochures") { s.brochures() }!!.any { it.id == b.id })
                c("brochure") { s.brochure(b.id) }
                c("brochureFile") { s.brochureFile(b.id) }
                val visit = c("logVisit") { s.logVisit(visitDetails(note = "from the main thread")) }!!
                c("amendVisit") { s.amendVisit(visit, visitDetails(note = "amended from the main thread")) }
                assertEquals("amended from the main thread", c("visit") { s.visit(visit) }!!.details.note)
                c("visits") { s.visits(VisitQuery()) }
                c("visitCounts") { s.visitCounts() }
                c("orgReport") { s.orgReport() }
                c("enrollment") { s.enrollment() }
                c("wipe") { s.wipe() }
            } finally {
                s.close()
                safety.close()
            }
            // The network calls are checked by the next test; everything else is covered here.
            val network = setOf("enroll", "sync", "fetchBrochureFiles")
            val missing = MainSafety.suspendMethods - network - safety.called
            assertTrue(missing.isEmpty(), "suspend methods not checked from the main thread: $missing")
        }
    }

    h.test("only_memory_getters_stay_synchronous") {
        val synchronous = OutreachStore::class.java.declaredMethods
            .filter { java.lang.reflect.Modifier.isPublic(it.modifiers) }
            .filter { it.parameterTypes.lastOrNull() != Continuation::class.java }
            .map { it.name }
            .filter { !it.startsWith("uniffi") && !it.startsWith("getUniffi") && it !in setOf("close", "destroy") && !it.contains('$') }
            .toSet()
        assertEquals(MainSafety.memoryOnly, synchronous, "the synchronous methods of OutreachStore")
        assertTrue(MainSafety.suspendMethods.containsAll(setOf("searchPartners", "logVisit", "sync", "enroll")))
    }

    h.test("enroll_sync_and_fetch_suspend_off_a_single_threaded_dispatcher") {
        MainThread().use { main ->
            val safety = MainSafety(main.dispatcher)
            val t = TestStore("main-safe-sync", StoreConfig(languages = listOf("fr")))
            val c = safety
            val link = HubCli.enrollmentLink("fieldworker")
            val enrollment = c("enroll") { t.store.enroll(link, "main-safe phone") }!!
            assertEquals(Role.FIELDWORKER, enrollment.role)
            val visit = c("logVisit") { t.store.logVisit(visitDetails(note = "synced from the main thread")) }!!
            val report = c("sync") { t.store.sync() }!!
            assertTrue(report.complete && report.changesPushed >= 1L, "the visit was sent: $report")
            c("fetchBrochureFiles") { t.store.fetchBrochureFiles() }
            assertTrue(t.store.visits(VisitQuery()).any { it.id == visit })
            t.store.close()
            safety.close()
        }
    }
}
