use super::common::{assert_packages, parse_fixture, parse_full, parse_str};
use zerotrace_inventory::{
    FileType,
    Scope::{Development as D, Runtime as RT, Unspecified as U},
    Source::Registry as R,
};

#[test]
fn spring_boot_lockfile() {
    assert_packages(
        &parse_fixture("gradle/spring/gradle.lockfile"),
        &[
            ("ch.qos.logback:logback-classic", "1.4.11", RT, R),
            ("ch.qos.logback:logback-core", "1.4.11", RT, R),
            ("com.fasterxml.jackson.core:jackson-databind", "2.15.3", RT, R),
            ("com.h2database:h2", "2.2.224", RT, R),
            ("com.jayway.jsonpath:json-path", "2.8.0", D, R),
            ("net.bytebuddy:byte-buddy", "1.14.9", D, R),
            ("org.apache.tomcat.embed:tomcat-embed-core", "10.1.15", RT, R),
            ("org.junit.jupiter:junit-jupiter-api", "5.10.0", D, R),
            ("org.mockito:mockito-core", "5.3.1", D, R),
            ("org.projectlombok:lombok", "1.18.30", RT, R),
            ("org.springframework.boot:spring-boot", "3.1.5", RT, R),
            ("org.springframework:spring-core", "6.0.13", RT, R),
            ("org.testcontainers:testcontainers", "1.19.1", D, R),
            ("org.yaml:snakeyaml", "1.33", RT, R),
        ],
    );
}

#[test]
fn android_variant_configurations() {
    assert_packages(
        &parse_fixture("gradle/android/gradle.lockfile"),
        &[
            ("androidx.activity:activity-compose", "1.8.0", RT, R),
            ("androidx.core:core-ktx", "1.12.0", RT, R),
            ("androidx.test.espresso:espresso-core", "3.5.1", D, R),
            ("androidx.test.ext:junit", "1.1.5", D, R),
            ("com.squareup.okhttp3:okhttp", "4.12.0", RT, R),
            ("junit:junit", "4.13.2", D, R),
            ("org.jetbrains.kotlin:kotlin-stdlib", "1.9.10", RT, R),
            ("org.robolectric:robolectric", "4.10.3", D, R),
        ],
    );
}

#[test]
fn legacy_lines_without_configurations() {
    assert_packages(
        &parse_fixture("gradle/legacy/gradle.lockfile"),
        &[
            ("com.google.guava:failureaccess", "1.0.1", U, R),
            ("com.google.guava:guava", "28.2-jre", U, R),
            ("org.apache.commons:commons-lang3", "3.9", U, R),
        ],
    );
}

#[test]
fn a_malformed_line_is_an_error_for_that_line_only() {
    let parsed = parse_full(
        FileType::GradleLock,
        "# c\ncom.google:guava=compileClasspath\na::1=x\norg.slf4j:slf4j-api:2.0.9=runtimeClasspath\n",
    )
    .unwrap();
    assert_eq!(
        parsed.errors,
        [
            "gradle.lockfile: line 2: expected group:artifact:version, got \"com.google:guava\"",
            "gradle.lockfile: line 3: empty part in \"a::1\""
        ]
    );
    let names: Vec<(&str, &str)> = parsed
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(names, [("org.slf4j:slf4j-api", "2.0.9")]);
    assert!(parse_str(FileType::GradleLock, "empty=\n").unwrap().is_empty());
}

crate::fuzz_parser!(
    FileType::GradleLock,
    "(empty=|[a-zA-Z0-9.:=,# -]|\n){0,80}",
    [
        "gradle/spring/gradle.lockfile",
        "gradle/android/gradle.lockfile",
        "gradle/legacy/gradle.lockfile"
    ]
);
