// The local benchmark's workload replayed through the Kotlin bindings, for
// `android/host-test.sh --bench`: the cost of the FFI layer (JNA, UniFFI's lowering and lifting)
// on top of the Rust figures of `bench local`.
//
// Usage: BenchKt DIR, where DIR is what `bench local --export DIR` left: encrypted.db (the bench
// store as Rust's timed phase found it), warmup.db (a copy, for the JIT's warm-up), workload.db
// (with workload.ids: the visits Rust's timed phase logged), key.hex (the raw key of the three) and queries.tsv
// (the timed search queries). Both sides time the same calls on the same data. Prints
// `ffi_log_visit_p99_us X us` and `ffi_search_p99_us Y us` (and the p50s), as `bench` prints
// its figures.
package org.outreach.core

import org.outreach.core.model.*
import java.io.File
import java.time.LocalDateTime
import java.util.Locale
import kotlin.system.exitProcess
import kotlinx.coroutines.runBlocking

private const val TIMED_LOGS = 2000

/**
 * Logs and searches before the timed ones, on a copy of the store: 10,000 of each (five passes of
 * the workload), or the system property outreach.bench.warmup (host-test.sh passes
 * $OUTREACH_BENCH_WARMUP). HotSpot hands a method to its optimising compiler (C2) after about
 * 10,000 calls; with fewer, those compilations land in the timed calls and, on a 2-core machine,
 * the compiler threads take a core from them: with 2,000 warm-up calls the p99 of the timed logs
 * comes out two to three times higher, made of the first few hundred calls. The figures are the
 * bindings' steady state, as in an app that has been running for a while.
 */
private val WARM_UP = System.getProperty("outreach.bench.warmup")?.toInt() ?: 5 * TIMED_LOGS

fun main(args: Array<String>): Unit = runBlocking {
    // The calls suspend as an app's would, from one coroutine on the main thread.
    if (args.size != 1) {
        System.err.println("usage: BenchKt DIR   (DIR from `bench local --export DIR`)")
        exitProcess(2)
    }
    val dir = File(args[0])
    val key = hexToBytes(File(dir, "key.hex").readText().trim())
    require(key.size == 32) { "key.hex holds ${key.size} bytes, not 32" }
    val queries = File(dir, "queries.tsv").readLines().filter { it.isNotEmpty() }.mapIndexed { i, line ->
        try {
            parseQuery(line)
        } catch (e: Exception) {
            throw IllegalArgumentException("queries.tsv line ${i + 1}: ${e.message}: $line", e)
        }
    }
    require(queries.isNotEmpty()) { "queries.tsv holds no query" }

    // The visits Rust's timed phase logged, in the order it logged them.
    val ids = File(dir, "workload.ids").readLines().filter { it.isNotEmpty() }
    val workload = OutreachStore.open(File(dir, "workload.db").path, key, StoreConfig()).use { store ->
        ids.map { store.visit(it).details }
    }
    require(workload.isNotEmpty()) { "workload.db holds no visit" }

    // Warm-up on a copy of the store, so that the JIT has compiled the bindings' paths while the
    // timed store stays as Rust's timed phase found it.
    OutreachStore.open(File(dir, "warmup.db").path, key, StoreConfig()).use { store ->
        repeat(WARM_UP) { i -> store.logVisit(workload[i % workload.size]) }
        repeat(WARM_UP) { i -> store.searchPartners(queries[i % queries.size]) }
    }
    // Start the timed calls with an empty young generation (host-test.sh sizes it to hold them).
    System.gc()

    OutreachStore.open(File(dir, "encrypted.db").path, key, StoreConfig()).use { store ->
        val logs = LongArray(workload.size)
        for ((i, details) in workload.withIndex()) {
            val t = System.nanoTime()
            store.logVisit(details)
            logs[i] = System.nanoTime() - t
        }
        if (System.getenv("OUTREACH_BENCH_DEBUG") != null) {
            val top = logs.withIndex().sortedByDescending { it.value }.take(30)
            // Which timed calls make the tail: their index tells a periodic cause from a JIT one.
            System.err.println("slowest logs (index:us): " + top.joinToString(" ") { "${it.index}:${it.value / 1000}" })
        }
        val searches = LongArray(queries.size)
        var found = 0L
        for ((i, q) in queries.withIndex()) {
            val t = System.nanoTime()
            val r = store.searchPartners(q)
            searches[i] = System.nanoTime() - t
            found += r.size
        }
        // The floor of any call through the bindings, for reading the figures above.
        val trivial = LongArray(2000) {
            val t = System.nanoTime()
            store.deviceId()
            System.nanoTime() - t
        }
        println("ffi_warm_up $WARM_UP calls")
        println("ffi_visits_logged ${workload.size} visits")
        println("ffi_queries ${queries.size} queries (${found} results)")
        figure("ffi_log_visit_p50_us", percentile(logs, 0.5) / 1e3)
        figure("ffi_log_visit_p99_us", percentile(logs, 0.99) / 1e3)
        figure("ffi_search_p50_us", percentile(searches, 0.5) / 1e3)
        figure("ffi_search_p99_us", percentile(searches, 0.99) / 1e3)
        figure("ffi_trivial_call_p50_us", percentile(trivial, 0.5) / 1e3)
    }
}

/**
 * The bench's percentile (tests/src/stats.rs): nearest rank, the sample of rank ceil(q * n)
 * (1-based) once sorted. For n = 2000 and q = 0.99 that is index 1979, as is
 * round((n - 1) * q).
 */
fun percentile(samples: LongArray, q: Double): Double {
    if (samples.isEmpty()) return 0.0
    val sorted = samples.sortedArray()
    val rank = Math.ceil(q * sorted.size).toInt().coerceIn(1, sorted.size)
    return sorted[rank - 1].toDouble()
}

private fun figure(name: String, value: Double) {
    println(String.format(Locale.ROOT, "%s %.2f us", name, value))
}

fun hexToBytes(hex: String): ByteArray {
    require(hex.length % 2 == 0 && hex.all { it in "0123456789abcdefABCDEF" }) { "key.hex is not hex" }
    return ByteArray(hex.length / 2) { i -> hex.substring(2 * i, 2 * i + 2).toInt(16).toByte() }
}

/**
 * One line of queries.tsv: text, themes, languages, region, place, open_at, near (`lat,lon`),
 * tab-separated; an empty column is unset; codes in lower snake case.
 */
fun parseQuery(line: String): PartnerQuery {
    val c = line.split('\t')
    require(c.size == 7) { "${c.size} columns, not 7" }
    fun list(s: String) = s.split(',').map(String::trim).filter(String::isNotEmpty)
    fun opt(s: String) = s.ifEmpty { null }
    return PartnerQuery(
        text = opt(c[0]),
        themes = list(c[1]).map { Theme.valueOf(it.uppercase(Locale.ROOT)) },
        languages = list(c[2]),
        region = opt(c[3])?.let { Region.valueOf(it.uppercase(Locale.ROOT)) },
        place = opt(c[4]),
        openAt = opt(c[5])?.let(LocalDateTime::parse),
        near = opt(c[6])?.let {
            val (lat, lon) = it.split(',').map(String::trim).map(String::toDouble)
            GeoPoint(lat, lon)
        },
    )
}
