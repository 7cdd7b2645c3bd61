// A self-contained Gradle build for the Outreach Android library (AAR). The module is the root
// project itself: open `android/` in Android Studio, or run Gradle from this directory.
//
// This build runs on a developer's machine or an Android CI runner with the Android SDK and NDK.
// The project's own CI has neither and never runs it (see README.md beside this file).

pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    // Every repository is declared here, none in build.gradle.kts.
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

// Also the AAR's file name: build/outputs/aar/outreach-core-android-release.aar
rootProject.name = "outreach-core-android"
