// Minimal sample app on the Lectern attendee engine (see README.md: not built in CI, there is
// no Android SDK on the build machines).
pluginManagement {
    repositories { google(); mavenCentral(); gradlePluginPortal() }
}
dependencyResolutionManagement {
    repositories { google(); mavenCentral() }
}
rootProject.name = "lectern-sample"
include(":app")
