// The host tests' small harness: named tests run one by one, each isolated, and what the tests
// share: the environment host-test.sh passes, fresh stores, the hub's command line, sample data.
package org.outreach.core

import org.outreach.core.model.*
import java.io.File
import java.net.ServerSocket
import java.security.MessageDigest
import java.security.SecureRandom
import java.time.LocalDate
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

// ---- Running tests ----------------------------------------------------------------------------

/** Registers named tests and runs them in order: `PASS name` / `FAIL name: why`, then a total. */
class Harness {
    private val tests = mutableListOf<Pair<String, suspend () -> Unit>>()

    fun test(name: String, body: suspend () -> Unit) {
        require(tests.none { it.first == name }) { "two tests named $name" }
        tests += name to body
    }

    /** Runs the tests whose name contains [filter] (all when null); returns the failures. */
    fun run(filter: String? = null): Int {
        var passed = 0
        var failed = 0
        val started = System.nanoTime()
        for ((name, body) in tests) {
            if (filter != null && !name.contains(filter)) continue
            val t = System.nanoTime()
            val error: Throwable? = try {
                runBlocking { withTimeout(TEST_TIMEOUT_MS) { body() } }
                null
            } catch (e: Throwable) {
                e
            }
            val ms = (System.nanoTime() - t) / 1_000_000
            if (error == null) {
                passed++
                println("PASS $name")
            } else {
                failed++
                println("FAIL $name: ${describe(error)}")
                if (System.getProperty("outreach.trace") != null) error.printStackTrace(System.out)
            }
            if (ms > 5_000) println("     ($name took $ms ms)")
        }
        val seconds = (System.nanoTime() - started) / 1e9
        println("ran ${passed + failed} tests in ${"%.1f".format(seconds)} s")
        println("$passed passed, $failed failed")
        return failed
    }

    /** The failure in one line: its type, message and where in the tests it was raised. */
    private fun describe(e: Throwable): String {
        val where = e.stackTrace.firstOrNull {
            it.className.startsWith("org.outreach.core.") && it.fileName in TEST_FILES
        }?.let { " (${it.fileName}:${it.lineNumber})" } ?: ""
        val cause = e.cause?.let { " caused by ${it::class.simpleName}: ${it.message}" } ?: ""
        return "${e::class.qualifiedName ?: e::class.simpleName}: ${e.message}$cause$where".replace('\n', ' ')
    }

    companion object {
        const val TEST_TIMEOUT_MS = 90_000L
        val TEST_FILES = setOf("HostTests.kt", "Harness.kt", "FlowTests.kt", "MainSafetyTests.kt", "ReadmeExample.kt")
    }
}

/** The failure of [expectThrows]: [got] is what was thrown instead, or null for nothing. */
@PublishedApi
internal fun notThrown(expected: String?, what: String, got: Throwable?): AssertionError {
    val from = if (what.isEmpty()) "" else " from $what"
    val instead = if (got == null) "but nothing was thrown" else "got $got"
    return AssertionError("expected $expected$from, $instead", got)
}

/** Runs [block] and returns the exception of type [T] it throws; fails if it throws none or another. */
inline fun <reified T : Throwable> expectThrows(what: String = "", block: () -> Unit): T {
    val thrown = runCatching(block).exceptionOrNull()
    return thrown as? T ?: throw notThrown(T::class.simpleName, what, thrown)
}

/** Like [expectThrows], for a suspending [block]. */
suspend inline fun <reified T : Throwable> expectThrowsSuspend(what: String = "", crossinline block: suspend () -> Unit): T {
    val thrown = try {
        block()
        null
    } catch (e: Throwable) {
        e
    }
    return thrown as? T ?: throw notThrown(T::class.simpleName, what, thrown)
}

// ---- The environment --------------------------------------------------------------------------

/** What host-test.sh passes as system properties. */
object Env {
    val hubUrl: String by lazy { prop("outreach.hub.url") }
    val hubData: String by lazy { prop("outreach.hub.data") }
    val hubBin: String by lazy { prop("outreach.hub.bin") }
    val org: String by lazy { System.getProperty("outreach.hub.org") ?: "Fedasil" }
    val tmp: File by lazy { File(prop("outreach.tmp")).also { it.mkdirs() } }

    private fun prop(name: String): String =
        System.getProperty(name) ?: error("system property $name is not set (run android/host-test.sh)")
}

// ---- Stores -----------------------------------------------------------------------------------

private val random = SecureRandom()

fun randomKey(size: Int = 32): ByteArray = ByteArray(size).also { random.nextBytes(it) }

/** A store of one test: its own file in its own directory, with a fresh random key. */
class TestStore(val name: String, val config: StoreConfig = StoreConfig()) {
    val dir: File = File(Env.tmp, "$name-${newId().take(8)}").also { it.mkdirs() }
    val path: String = File(dir, "outreach.db").path
    val key: ByteArray = randomKey()
    /** The store, opened when the test store is made (blocking that test's thread, not the app's). */
    val store: OutreachStore = runBlocking { open() }

    suspend fun open(key: ByteArray = this.key, config: StoreConfig = this.config) = OutreachStore.open(path, key, config)

    /** The database and its journal files, as they are now. */
    fun files(): List<File> = dir.listFiles()!!.filter { it.name.startsWith("outreach.db") }.sortedBy { it.name }
}

/** Every regular file under [dir], by relative path, with its bytes' SHA-256. */
fun snapshot(dir: File): Map<String, String> =
    dir.walkTopDown().filter { it.isFile }.associate { it.relativeTo(dir).path to sha256(it.readBytes()) }

fun sha256(bytes: ByteArray): String =
    MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }

/** A loopback port nobody listens on (bound, then released). */
fun closedPort(): Int = ServerSocket(0).use { it.localPort }

// ---- The hub's command line ----------------------------------------------------------------------

object HubCli {
    /** Runs `outreach-hub ARGS` and returns its standard output; fails on a non-zero exit. */
    fun run(vararg args: String): String {
        val process = ProcessBuilder(listOf(Env.hubBin) + args)
            .redirectErrorStream(true)
            .start()
        val out = process.inputStream.bufferedReader().readText()
        check(process.waitFor(30, TimeUnit.SECONDS)) { "outreach-hub ${args.joinToString(" ")} did not finish" }
        check(process.exitValue() == 0) { "outreach-hub ${args.joinToString(" ")} exited ${process.exitValue()}: $out" }
        return out
    }

    /** A one-time enrollment link for [role] (fieldworker, coordinator, admin) of [org]. */
    fun enrollmentLink(
        role: String,
        hubUrl: String = Env.hubUrl,
        data: String = Env.hubData,
        org: String = Env.org,
    ): String {
        val out = run("enroll", "--data", data, "--org", org, "--role", role, "--hub-url", hubUrl)
        return out.lineSequence().map(String::trim).firstOrNull { it.startsWith("link: ") }?.removePrefix("link: ")
            ?: error("no link in the output of outreach-hub enroll: $out")
    }

    /** The code of an enrollment, as printed (`XXXX-XXXX-XXXX-XXXX`). */
    fun enrollmentCode(role: String, hubUrl: String = Env.hubUrl): String {
        val out = run("enroll", "--data", Env.hubData, "--org", Env.org, "--role", role, "--hub-url", hubUrl)
        return out.lineSequence().map(String::trim).firstOrNull { CODE.matches(it) }
            ?: error("no code in the output of outreach-hub enroll: $out")
    }

    fun revoke(deviceId: String, data: String = Env.hubData) {
        run("devices", "revoke", "--data", data, deviceId, "--lost")
    }

    fun devices(data: String = Env.hubData): String = run("devices", "list", "--data", data)

    private val CODE = Regex("^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$")
}

/** A hub of its own, for a test that stops it: `init` + `serve` on 127.0.0.1:0. */
class PrivateHub(name: String) : AutoCloseable {
    val data: String = File(Env.tmp, "hub-$name-${newId().take(8)}").path
    private val process: Process
    val url: String

    init {
        HubCli.run("init", "--data", data, "--org", Env.org)
        process = ProcessBuilder(Env.hubBin, "serve", "--data", data, "--listen", "127.0.0.1:0")
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start()
        val first = process.inputStream.bufferedReader().readLine()
            ?: error("the private hub printed nothing")
        check(first.startsWith("listening on ")) { "unexpected first line of the hub: $first" }
        url = "http://" + first.removePrefix("listening on ").trim()
    }

    fun enrollmentLink(role: String) = HubCli.enrollmentLink(role, hubUrl = url, data = data)

    /** Stops the hub (SIGTERM) and waits for it. */
    override fun close() {
        if (process.isAlive) {
            process.destroy()
            if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
        }
    }
}

// ---- Sample data -------------------------------------------------------------------------------

val today: LocalDate get() = LocalDate.now()

fun visitDetails(
    date: LocalDate = today,
    people: Int = 3,
    note: String = "",
    themes: List<Theme> = listOf(Theme.VOLUNTARY_RETURN),
    postcode: Int = 1000,
    municipality: String = "Bruxelles",
    setting: Setting = Setting.DAY_CENTRE,
    activity: Activity = Activity.INDIVIDUAL_CONTACT,
    languages: List<String> = listOf("ar", "fr"),
) = VisitDetails(
    date = date,
    partOfDay = PartOfDay.AFTERNOON,
    postcode = postcode,
    municipality = municipality,
    setting = setting,
    activity = activity,
    peopleReached = people,
    languages = languages,
    themes = themes,
    note = note,
)

/** Monday to Friday, [open] to [close] (minutes after midnight). */
fun weekdays(open: Int, close: Int): List<DayHours> =
    listOf(Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)
        .map { DayHours(it, listOf(TimeRange(open, close))) }

fun location(
    postcode: Int,
    municipality: String,
    province: Region,
    lat: Double? = null,
    lon: Double? = null,
    hours: List<DayHours> = listOf(),
) = Location(
    id = newId(),
    postcode = postcode,
    municipality = municipality,
    province = province,
    latitude = lat,
    longitude = lon,
    hours = hours,
    status = PartnerStatus.ACTIVE,
)

fun partner(
    name: String,
    region: Region,
    kind: OrgKind = OrgKind.NGO,
    themes: List<Theme> = listOf(),
    languages: List<String> = listOf(),
    locations: List<Location> = listOf(),
    status: PartnerStatus = PartnerStatus.ACTIVE,
    description: Map<String, String> = mapOf(),
) = Partner(
    id = newId(),
    region = region,
    name = name,
    kind = kind,
    status = status,
    themes = themes,
    languages = languages,
    locations = locations,
    description = description,
)

/** A small brochure in French, for [publishedOn]. */
fun brochure(title: String, publishedOn: LocalDate = today) = Brochure(
    id = newId(),
    title = mapOf("fr" to title),
    themes = listOf(Theme.VOLUNTARY_RETURN),
    audience = listOf(Audience.MIGRANTS),
    publishedOn = publishedOn,
    updatedOn = publishedOn,
)

/** A few hundred bytes that start like a PDF. */
fun fakePdf(text: String): ByteArray =
    ("%PDF-1.4\n% $text\n" + "0123456789abcdef\n".repeat(20) + "%%EOF\n").toByteArray()
