plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "org.lectern.sample"
    compileSdk = 34
    defaultConfig {
        applicationId = "org.lectern.sample"
        minSdk = 26
        targetSdk = 34
        versionCode = 1
        versionName = "0.1"
    }
    sourceSets["main"].apply {
        // The UniFFI Kotlin, generated into android-bridge/kotlin/ by `make android-kotlin`.
        java.srcDir("../../kotlin")
        // libandroid_bridge.so per ABI, put here by `cargo ndk -o` (see README.md).
        jniLibs.srcDir("src/main/jniLibs")
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
}

dependencies {
    // UniFFI's Kotlin calls the Rust library through JNA.
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.8.1")
}
