// The Outreach Android library (AAR): the Rust core (crate `outreach-ffi`) cross-compiled for
// Android, its UniFFI-generated Kotlin bindings (package org.outreach.core) and the small Kotlin
// layer in src/main/kotlin.
//
// This build is for a developer's machine or an Android CI runner. The project's own CI has no
// Android SDK, NDK or Gradle and never runs it; it runs android/host-test.sh instead (README.md).
//
// Before AGP's own tasks (both hang off `preBuild`), a build runs:
//   cargoNdkBuild         cargo ndk, release profile, one library per ABI, linked for 16 KB pages
//                         (and checked) -> build/rustJniLibs/<abi>/liboutreach_ffi.so, a jniLibs dir
//   generateUniffiKotlin  the workspace's `uniffi-bindgen`, library mode, on the first ABI's library
//                         -> build/generated/uniffi/kotlin, a directory of the main Kotlin sources
// The Cargo workspace is the parent directory of this one.
//
// The AAR carries the SDK's version, `[workspace.package] version` of the workspace's Cargo.toml
// (one version for the Rust crates, this library and the iOS package; CHANGELOG.md says what each
// changed for apps):
//   versionedAar          the release AAR as build/outputs/versioned/outreach-<version>.aar
//   publish               org.outreach:outreach-core:<version> (AAR, sources, POM with JNA and
//                         kotlinx-coroutines) into the Maven repository build/repo;
//                         publishToMavenLocal puts it in ~/.m2 instead

import com.android.build.api.artifact.SingleArtifact
import java.nio.ByteBuffer
import java.nio.ByteOrder
import org.jetbrains.kotlin.gradle.dsl.JvmTarget
import org.w3c.dom.Element

plugins {
    // AGP 8.7 needs Gradle 8.9+ and JDK 17+, and knows compileSdk 35.
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.21"
    `maven-publish`
}

// ---- Settings: gradle.properties, each overridable with -P ------------------------------------

val minSdkLevel: Int = providers.gradleProperty("outreach.minSdk").getOrElse("26").toInt()
val ndkVersionWanted: String =
    providers.gradleProperty("outreach.ndkVersion").getOrElse("27.2.12479018")
val rustAbis: List<String> = providers.gradleProperty("outreach.abis")
    .getOrElse("arm64-v8a,armeabi-v7a,x86_64")
    .split(',').map(String::trim).filter(String::isNotEmpty)

/** Android ABI -> Rust target (each needs `rustup target add <triple>`). */
val abiTriples = mapOf(
    "arm64-v8a" to "aarch64-linux-android",
    "armeabi-v7a" to "armv7-linux-androideabi",
    "x86_64" to "x86_64-linux-android",
    "x86" to "i686-linux-android",
)

/** The ABIs of devices that may run with 16 KB memory pages (Android 15+, 64-bit only). */
val abisWith16kPages = setOf("arm64-v8a", "x86_64")

val unknownAbis = rustAbis - abiTriples.keys
if (rustAbis.isEmpty() || unknownAbis.isNotEmpty()) {
    throw GradleException("outreach.abis must name some of ${abiTriples.keys}; unknown: $unknownAbis")
}

// ---- Paths --------------------------------------------------------------------------------------

val repoRoot: File = projectDir.parentFile
val rustJniLibsDir: File = layout.buildDirectory.dir("rustJniLibs").get().asFile
val generatedKotlinDir: File = layout.buildDirectory.dir("generated/uniffi/kotlin").get().asFile

/** Cargo's target directory: $CARGO_TARGET_DIR (relative to the workspace) or <repo>/target. */
val cargoTargetDir: File = providers.environmentVariable("CARGO_TARGET_DIR").orNull
    ?.let { if (File(it).isAbsolute) File(it) else repoRoot.resolve(it) }
    ?: repoRoot.resolve("target")

/**
 * The library the Kotlin bindings are generated from: the first ABI's, as cargo left it in its
 * target directory. Not the copy in rustJniLibs: cargo-ndk 3.x strips that copy, and uniffi-bindgen
 * reads the UniFFI metadata from the ELF symbol table (this relies on the release profile keeping
 * it, which is Cargo's default: `strip = "none"`).
 */
val bindgenLibrary: File =
    cargoTargetDir.resolve("${abiTriples.getValue(rustAbis.first())}/release/liboutreach_ffi.so")

/**
 * cargo: -Poutreach.cargo=PATH, else $CARGO_HOME/bin/cargo (Android Studio started from the Dock
 * does not see the login shell's PATH), else `cargo` from PATH. Cargo finds `cargo ndk` in the same
 * directory.
 */
val cargo: String = providers.gradleProperty("outreach.cargo").orNull ?: run {
    val cargoHome = providers.environmentVariable("CARGO_HOME").orNull
        ?: File(System.getProperty("user.home"), ".cargo").path
    File(cargoHome, "bin/cargo").takeIf(File::canExecute)?.path ?: "cargo"
}

// ---- The SDK's version: the workspace's Cargo.toml ---------------------------------------------

/**
 * The string value of `key` in `[table]` of a TOML text, or null: all this build needs of
 * Cargo.toml (`version = "0.2.0"`, `license = "MPL-2.0"`), without a TOML library.
 */
fun tomlString(text: String, table: String, key: String): String? {
    val entry = Regex("^" + Regex.escape(key) + "\\s*=\\s*\"([^\"]*)\"")
    var current = ""
    for (raw in text.lines()) {
        val line = raw.trim()
        if (line.startsWith("[")) {
            current = line.substringBefore("]").trim('[', ' ')
        } else if (current == table) {
            entry.find(line)?.let { return it.groupValues[1] }
        }
    }
    return null
}

/** The workspace manifest, read through Gradle so that a changed version reconfigures the build. */
val cargoManifest: String =
    providers.fileContents(layout.projectDirectory.file("../Cargo.toml")).asText.get()

/** `[workspace.package] version`: the AAR's version and its Maven version. */
val sdkVersion: String = tomlString(cargoManifest, "workspace.package", "version")
    ?: throw GradleException("${repoRoot.resolve("Cargo.toml")} has no [workspace.package] version")

/** `[workspace.package] license` (an SPDX id), also the POM's license. */
val sdkLicense: String = tomlString(cargoManifest, "workspace.package", "license")
    ?: throw GradleException("${repoRoot.resolve("Cargo.toml")} has no [workspace.package] license")

group = "org.outreach"
version = sdkVersion

// ---- The Android library ------------------------------------------------------------------------

android {
    namespace = "org.outreach.core"
    compileSdk = 35
    // Also what AGP strips the native libraries with; cargoNdkBuild links with it too.
    ndkVersion = ndkVersionWanted

    defaultConfig {
        minSdk = minSdkLevel
        // Merged into the app's R8 configuration: JNA and the bindings are reached by reflection.
        consumerProguardFiles("consumer-rules.pro")
    }

    buildTypes {
        release {
            // A library is shrunk by the app that uses it (with consumer-rules.pro), not here.
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    // liboutreach_ffi.so per ABI, from cargoNdkBuild (the Rust core is always the release profile,
    // in debug builds of the AAR too).
    sourceSets["main"].jniLibs.srcDir(rustJniLibsDir)
    // org/outreach/core/outreach_ffi.kt, from generateUniffiKotlin; src/main/kotlin stays the home
    // of the hand-written layer.
    sourceSets["main"].kotlin.srcDir(generatedKotlinDir)

    packaging {
        jniLibs {
            // Native libraries stay uncompressed in the APK and are loaded from it in place, which
            // is why AGP 8.5.1+ aligns them on 16 KB boundaries in the zip. This is already the
            // default at minSdk 23+; an app using this AAR must not turn it back on either.
            useLegacyPackaging = false
        }
    }

    // The software component `release` that the Maven publication below is made from; the
    // sources jar includes the generated bindings, so that an IDE shows their documentation.
    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

dependencies {
    // Both are needed by the generated bindings (JNA for every call into Rust, coroutines for the
    // async functions) and appear in their public API, hence `api`. JNA 5.17.0 is the first whose
    // own libjnidispatch.so loads on 16 KB-page devices; 5.18.x also fixes a deadlock and a race
    // in Structure, which every UniFFI call goes through.
    api("net.java.dev.jna:jna:5.18.1@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.10.2")
}

// ---- Versioned artifacts -----------------------------------------------------------------------

androidComponents {
    onVariants(selector().withBuildType("release")) { variant ->
        // AGP names its own output after the project (build/outputs/aar/outreach-core-android-
        // release.aar); the file handed to apps carries the version.
        tasks.register<Copy>("versionedAar") {
            group = "publishing"
            description = "Copies the release AAR to build/outputs/versioned/outreach-$sdkVersion.aar."
            from(variant.artifacts.get(SingleArtifact.AAR))
            into(layout.buildDirectory.dir("outputs/versioned"))
            rename { "outreach-$sdkVersion.aar" }
        }
    }
}

publishing {
    publications {
        register<MavenPublication>("release") {
            groupId = "org.outreach"
            artifactId = "outreach-core"
            version = sdkVersion
            // The component exists once AGP has created the variants. Its `api` dependencies (JNA
            // as an AAR, kotlinx-coroutines-core) become the POM's compile-scope dependencies.
            afterEvaluate {
                from(components["release"])
            }
            pom {
                name.set("Outreach core")
                description.set(
                    "The Outreach Rust core for Android apps: the offline partner directory, " +
                        "brochures and visit log, and their sync with a hub, as a Kotlin API " +
                        "(org.outreach.core) generated by UniFFI.",
                )
                tomlString(cargoManifest, "workspace.package", "repository")?.let { url.set(it) }
                licenses {
                    license {
                        // The same license as every crate of the workspace (Cargo.toml).
                        name.set(sdkLicense)
                        url.set("https://spdx.org/licenses/$sdkLicense.html")
                    }
                }
                withXml {
                    // JNA's default artifact is a jar with desktop libraries only: a Maven-POM
                    // consumer must get its AAR. Gradle writes this type for `@aar` itself; this
                    // only makes sure the POM says so.
                    val root = asElement()
                    val dependencies = root.getElementsByTagName("dependency")
                    for (index in 0 until dependencies.length) {
                        val dependency = dependencies.item(index) as Element
                        fun text(tag: String): String? =
                            dependency.getElementsByTagName(tag).item(0)?.textContent?.trim()
                        val isJna = text("groupId") == "net.java.dev.jna" && text("artifactId") == "jna"
                        if (isJna && text("type") == null) {
                            val type = root.ownerDocument.createElementNS(dependency.namespaceURI, "type")
                            type.textContent = "aar"
                            dependency.appendChild(type)
                        }
                    }
                }
            }
        }
    }
    repositories {
        // A Maven repository in the build directory, to hand over or to upload from; nothing is
        // sent anywhere by this build.
        maven {
            name = "build"
            url = uri(layout.buildDirectory.dir("repo"))
        }
    }
}

// ---- Checking the 16 KB alignment ---------------------------------------------------------------

/** Reads the program headers of a 64-bit little-endian ELF file (what all 64-bit Android ABIs are). */
object ElfLoadSegments {
    private const val PT_LOAD = 1

    /** The smallest alignment (p_align) among the PT_LOAD segments of [file]. */
    fun minAlignment(file: File): Long {
        val elf = ByteBuffer.wrap(file.readBytes()).order(ByteOrder.LITTLE_ENDIAN)
        require(elf.limit() >= 64 && elf.getInt(0) == 0x464c457f) { "$file is not an ELF file" }
        require(elf.get(4).toInt() == 2 && elf.get(5).toInt() == 1) { "$file is not 64-bit little-endian ELF" }
        val tableOffset = elf.getLong(0x20)
        val entrySize = elf.getShort(0x36).toInt() and 0xffff
        val entryCount = elf.getShort(0x38).toInt() and 0xffff
        val alignments = (0 until entryCount)
            .map { (tableOffset + it.toLong() * entrySize).toInt() }
            .filter { header -> elf.getInt(header) == PT_LOAD }
            .map { header -> elf.getLong(header + 0x30) }
        require(alignments.isNotEmpty()) { "$file has no LOAD segment" }
        return alignments.min()
    }
}

// ---- Rust: cross-compile with cargo-ndk -------------------------------------------------------

/** Linker flag giving every LOAD segment a 16 KB alignment (Android 15+ devices with 16 KB pages). */
val pageSizeRustflags = "-C link-arg=-Wl,-z,max-page-size=16384"
val ndkDirectory = androidComponents.sdkComponents.ndkDirectory

val cargoNdkBuild = tasks.register<Exec>("cargoNdkBuild") {
    group = "rust"
    description = "Cross-compiles outreach-ffi with cargo-ndk for ${rustAbis.joinToString()}."

    workingDir = repoRoot
    commandLine(buildList {
        addAll(listOf(cargo, "ndk"))
        rustAbis.forEach { addAll(listOf("-t", it)) }
        addAll(listOf("--platform", minSdkLevel.toString(), "-o", rustJniLibsDir.path))
        addAll(listOf("build", "--release", "--locked", "-p", "outreach-ffi", "--lib", "--no-default-features"))
    })

    // The 16 KB flag goes in per target, so that it reaches only the Android libraries (not build
    // scripts or proc-macros built for the host) and needs no .cargo/config.toml in the repository.
    // NDK r28+ links 64-bit libraries this way by default and cargo-ndk 4 adds the flag for older
    // NDKs; saying it here makes it hold with r27 and cargo-ndk 3 as well.
    rustAbis.forEach { abi ->
        val triple = abiTriples.getValue(abi)
        environment("CARGO_TARGET_${triple.uppercase().replace('-', '_')}_RUSTFLAGS", pageSizeRustflags)
    }

    // Every file of the workspace but the build products and the mobile projects: cargo decides
    // what really needs rebuilding; this only lets Gradle skip the task when nothing changed.
    inputs.files(fileTree(repoRoot) { exclude("target/**", ".git/**", "android/**", "ios/**") })
        .withPropertyName("workspace").withPathSensitivity(PathSensitivity.RELATIVE)
    inputs.property("abis", rustAbis)
    inputs.property("minSdk", minSdkLevel)
    inputs.property("rustflags", pageSizeRustflags)
    outputs.dir(rustJniLibsDir).withPropertyName("jniLibs")
    outputs.file(bindgenLibrary).withPropertyName("bindgenLibrary")

    doFirst {
        // RUSTFLAGS or CARGO_ENCODED_RUSTFLAGS in the environment would make cargo ignore the
        // per-target flags above, and so the 16 KB alignment, without a word.
        val overriding = listOf("RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS").filter { !System.getenv(it).isNullOrEmpty() }
        if (overriding.isNotEmpty()) {
            throw GradleException("unset $overriding: it would override the Android linker flags of this build")
        }
        // cargo-ndk finds the NDK through ANDROID_NDK_HOME; unless it is set, use AGP's (ndkVersion).
        if (System.getenv("ANDROID_NDK_HOME").isNullOrEmpty()) {
            environment("ANDROID_NDK_HOME", ndkDirectory.get().asFile.path)
        }
        // No library of an ABI dropped from outreach.abis may linger into the AAR.
        rustJniLibsDir.deleteRecursively()
    }

    doLast {
        rustAbis.forEach { abi ->
            val library = rustJniLibsDir.resolve("$abi/liboutreach_ffi.so")
            if (!library.isFile) throw GradleException("cargo ndk produced no $library")
            if (abi in abisWith16kPages) {
                val align = ElfLoadSegments.minAlignment(library)
                if (align < 16384) {
                    throw GradleException(
                        "$library: LOAD segments aligned on $align bytes, not 16 KB; " +
                            "it would not load on devices with 16 KB pages",
                    )
                }
            }
        }
    }
}

// ---- Kotlin bindings: uniffi-bindgen in library mode ------------------------------------------

val generateUniffiKotlin = tasks.register<Exec>("generateUniffiKotlin") {
    group = "rust"
    description = "Generates the Kotlin bindings of outreach-ffi into ${generatedKotlinDir.path}."
    dependsOn(cargoNdkBuild)

    // The binary is built for the host, in the release profile like everything scripts/test-all.sh
    // builds; the library it reads may be of any target. --no-format: the output must not depend on
    // whether ktlint happens to be installed.
    workingDir = repoRoot
    commandLine(
        cargo, "run", "--release", "--locked", "-p", "outreach-ffi", "--bin", "uniffi-bindgen", "--",
        "generate", "--library", bindgenLibrary.path,
        "--language", "kotlin",
        "--out-dir", generatedKotlinDir.path,
        "--no-format",
    )

    inputs.file(bindgenLibrary).withPropertyName("library").withPathSensitivity(PathSensitivity.NONE)
    inputs.files(repoRoot.resolve("bindings/uniffi.toml"), repoRoot.resolve("core/uniffi.toml"), repoRoot.resolve("Cargo.lock"))
        .withPropertyName("config").withPathSensitivity(PathSensitivity.RELATIVE)
    outputs.dir(generatedKotlinDir).withPropertyName("kotlin")

    doFirst {
        // Nothing stale from a renamed type or package may stay behind.
        generatedKotlinDir.deleteRecursively()
    }

    doLast {
        // If the [bindings.kotlin] settings were not applied, the file lands in uniffi/outreach_ffi/
        // and the app would not compile against org.outreach.core: say so here instead.
        val packageDir = generatedKotlinDir.resolve("org/outreach/core")
        if (packageDir.listFiles { file -> file.extension == "kt" }.isNullOrEmpty()) {
            val written = generatedKotlinDir.walk().filter(File::isFile).toList()
            throw GradleException(
                "uniffi-bindgen wrote no Kotlin in package org.outreach.core (it wrote $written): " +
                    "was package_name of bindings/uniffi.toml applied?",
            )
        }
    }
}

tasks.named("preBuild") {
    dependsOn(cargoNdkBuild, generateUniffiKotlin)
}
